import { redactSecrets } from './redact-secrets';

describe('redactSecrets', () => {
  it('replaces credential fields at any depth and keeps the rest', () => {
    expect(
      redactSecrets({ id: 'k1', key: 'hk_live_x', nested: [{ secret: 's', url: 'https://example.com' }], n: 3 }),
    ).toEqual({ id: 'k1', key: '[Redacted]', nested: [{ secret: '[Redacted]', url: 'https://example.com' }], n: 3 });
  });

  it('stores dates as JSON.stringify writes them, not as {}', () => {
    const createdAt = new Date('2026-12-07T10:00:00.123Z');
    const stored = JSON.parse(JSON.stringify(redactSecrets({ createdAt, items: [{ expiresAt: createdAt }] })));
    expect(stored).toEqual({
      createdAt: '2026-12-07T10:00:00.123Z',
      items: [{ expiresAt: '2026-12-07T10:00:00.123Z' }],
    });
  });

  it('redacts what a value serializes to', () => {
    const wrapped = { toJSON: () => ({ token: 't', at: 1 }) };
    expect(redactSecrets({ wrapped })).toEqual({ wrapped: { token: '[Redacted]', at: 1 } });
  });
});
