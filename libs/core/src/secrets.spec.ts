import { createHmac } from 'node:crypto';
import { generateApiKey, hashSecret, secretsEqual, signInboxToken, verifyInboxToken } from './secrets';

describe('api keys', () => {
  it('are high-entropy, scoped, and stored only as a hash', () => {
    const a = generateApiKey('admin');
    const b = generateApiKey('admin');
    expect(a.key).toMatch(/^hk_admin_[A-Za-z0-9_-]{43}$/);
    expect(a.key).not.toBe(b.key);
    expect(a.hash).toBe(hashSecret(a.key));
    expect(a.hash).not.toContain(a.key.slice(9));
    expect(a.prefix).toBe(a.key.slice(0, 13));
  });

  it('compares secrets of any length', () => {
    expect(secretsEqual('same', 'same')).toBe(true);
    expect(secretsEqual('same', 'sam')).toBe(false);
  });
});

describe('inbox tokens', () => {
  const secret = 's'.repeat(32);
  const claims = { tenantId: 't1', subscriberId: 'alice', exp: 2000 };

  it('round-trips until expiry', () => {
    const token = signInboxToken(claims, secret);
    expect(verifyInboxToken(token, secret, 1999)).toEqual(claims);
    expect(verifyInboxToken(token, secret, 2000)).toBeNull();
  });

  it('rejects forged, tampered and malformed tokens', () => {
    const token = signInboxToken(claims, secret);
    expect(verifyInboxToken(token, 'x'.repeat(32), 0)).toBeNull();
    const forgedBody = Buffer.from(JSON.stringify({ t: 't1', s: 'bob', e: 2000 })).toString('base64url');
    expect(verifyInboxToken(`hit_${forgedBody}.${token.split('.')[1]}`, secret, 0)).toBeNull();
    for (const bad of ['', 'hit_', 'hit_a.b.c', 'hk_admin_x', `${token}x`])
      expect(verifyInboxToken(bad, secret, 0)).toBeNull();
  });

  it('carries the id of the key that issued it; tokens from before that claim still verify', () => {
    const keyed = { ...claims, keyId: 'k1' };
    expect(verifyInboxToken(signInboxToken(keyed, secret), secret, 0)).toEqual(keyed);
    expect(verifyInboxToken(signInboxToken(claims, secret), secret, 0)).toEqual(claims);
    const sign = (body: object) => {
      const encoded = Buffer.from(JSON.stringify(body)).toString('base64url');
      return `hit_${encoded}.${createHmac('sha256', secret).update(encoded).digest('base64url')}`;
    };
    expect(verifyInboxToken(sign({ t: 't1', s: 'alice', e: 2000, k: 7 }), secret, 0)).toBeNull();
  });
});
