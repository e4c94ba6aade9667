import { RETRY_DEFAULTS, backoffMs, parseRetryAfter, retryDelayMs } from './retry-policy';

const NOW = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, relative to now', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
  });

  it('treats a date in the past as "now", and nothing readable as no answer', () => {
    expect(parseRetryAfter(new Date(NOW - 60_000).toUTCString(), NOW)).toBe(0);
    for (const value of [undefined, null, '', 'soon', '-5', '1.5']) expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('retryDelayMs', () => {
  const policy = { ...RETRY_DEFAULTS, baseDelayMs: 100, maxDelayMs: 1000 };
  const clock = (random: number) => ({ now: () => NOW, random: () => random });

  it('doubles the step each retry, waiting between half of it and all of it', () => {
    expect([0, 1, 2].map((retry) => retryDelayMs(retry, undefined, policy, clock(0)))).toEqual([50, 100, 200]);
    expect([0, 1, 2].map((retry) => retryDelayMs(retry, undefined, policy, clock(1)))).toEqual([100, 200, 400]);
  });

  it('never backs off longer than maxDelayMs', () => {
    expect(retryDelayMs(10, undefined, policy, clock(1))).toBe(1000);
    expect(backoffMs(10, policy, clock(1))).toBe(1000);
  });

  it('does not retry when Retry-After asks for longer than maxDelayMs (a sooner retry would be refused again)', () => {
    expect(retryDelayMs(0, '3600', policy, clock(1))).toBeUndefined();
    expect(retryDelayMs(0, '2', policy, clock(1))).toBeUndefined();
    expect(retryDelayMs(0, new Date(NOW + 2000).toUTCString(), policy, clock(1))).toBeUndefined();
    expect(retryDelayMs(0, '1', policy, clock(1))).toBe(1000);
  });

  it('waits what Retry-After asks rather than backing off', () => {
    expect(retryDelayMs(0, '0', policy, clock(1))).toBe(0);
    expect(retryDelayMs(2, '1', policy, clock(0))).toBe(1000);
    expect(retryDelayMs(0, new Date(NOW + 1000).toUTCString(), policy, clock(0))).toBe(1000);
    expect(retryDelayMs(1, 'garbage', policy, clock(0))).toBe(100);
  });
});
