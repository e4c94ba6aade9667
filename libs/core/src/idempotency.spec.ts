import { IDEMPOTENCY_KEY_PATTERN, canonicalJson, requestHash } from './idempotency';

describe('idempotency hashing', () => {
  it('ignores key order at every depth', () => {
    const a = { type: 't', to: { subscriberId: 'u1', email: 'a@x' }, data: { b: 1, a: [1, { y: 2, x: 1 }] } };
    const b = { data: { a: [1, { x: 1, y: 2 }], b: 1 }, to: { email: 'a@x', subscriberId: 'u1' }, type: 't' };
    expect(requestHash(a)).toBe(requestHash(b));
  });

  it('distinguishes different values, array order and types', () => {
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: 2 }));
    expect(requestHash({ a: [1, 2] })).not.toBe(requestHash({ a: [2, 1] }));
    expect(requestHash({ a: 1 })).not.toBe(requestHash({ a: '1' }));
  });

  it('treats an undefined property as absent, like JSON does', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it('accepts 1–255 printable characters as a key', () => {
    expect(IDEMPOTENCY_KEY_PATTERN.test('order-42:shipped')).toBe(true);
    expect(IDEMPOTENCY_KEY_PATTERN.test('k'.repeat(255))).toBe(true);
    expect(IDEMPOTENCY_KEY_PATTERN.test('k'.repeat(256))).toBe(false);
    expect(IDEMPOTENCY_KEY_PATTERN.test('')).toBe(false);
    expect(IDEMPOTENCY_KEY_PATTERN.test('tab\there')).toBe(false);
  });
});
