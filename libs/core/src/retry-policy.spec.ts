import fc from 'fast-check';
import { backoffDelay, retryDelay } from './retry-policy';

const policy = { baseDelayMs: 1000, maxDelayMs: 60_000 };

describe('retry policy', () => {
  it('doubles the ceiling with each retry, up to the maximum', () => {
    const ceiling = (attempt: number) => backoffDelay(attempt, policy, () => 0.999_999) + 1;
    expect([1, 2, 3, 4, 7, 30].map(ceiling)).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000]);
  });

  it('always waits somewhere in [0, ceiling) — full jitter', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const delay = backoffDelay(n, policy, () => r);
          return delay >= 0 && delay < Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
        },
      ),
    );
  });

  it("honours the provider's Retry-After, capped by the maximum", () => {
    expect(retryDelay(1, policy, 5000)).toBe(5000);
    expect(retryDelay(1, policy, 0)).toBe(0);
    expect(retryDelay(1, policy, 10 * 60_000)).toBe(60_000);
    expect(retryDelay(3, policy, undefined, () => 0.5)).toBe(2000);
  });
});
