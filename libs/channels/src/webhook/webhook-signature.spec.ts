import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, signWebhook, verifyWebhook } from './webhook-signature';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const TIMESTAMP = 1614265330;
const PAYLOAD = '{"test": 2432232314}';
const AT = new Date(TIMESTAMP * 1000);

describe('signWebhook', () => {
  it('signs id.timestamp.payload with HMAC-SHA256 of the decoded secret (a fixed vector)', () => {
    expect(signWebhook({ id: ID, timestamp: TIMESTAMP, payload: PAYLOAD, secret: SECRET })).toEqual({
      'webhook-id': ID,
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  it('signs a Buffer payload as its bytes', () => {
    const fromString = signWebhook({ id: ID, timestamp: TIMESTAMP, payload: '{"name":"Zoë"}', secret: SECRET });
    const fromBytes = signWebhook({
      id: ID,
      timestamp: TIMESTAMP,
      payload: Buffer.from('{"name":"Zoë"}'),
      secret: SECRET,
    });
    expect(fromBytes).toEqual(fromString);
  });

  it('refuses a secret that is not base64 rather than signing with part of it', () => {
    expect(() => signWebhook({ id: ID, timestamp: TIMESTAMP, payload: PAYLOAD, secret: 'whsec_not base64!' })).toThrow(
      /base64/,
    );
  });
});

describe('generateWebhookSecret', () => {
  it('is whsec_ and 32 random bytes of base64, different each time', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+={0,2}$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});

describe('verifyWebhook', () => {
  const headers = signWebhook({ id: ID, timestamp: TIMESTAMP, payload: PAYLOAD, secret: SECRET });

  it('accepts its own signature within the tolerance', () => {
    expect(verifyWebhook(headers, PAYLOAD, SECRET, { now: AT })).toEqual({ valid: true });
    expect(verifyWebhook(headers, Buffer.from(PAYLOAD), SECRET, { now: new Date(AT.getTime() + 299_000) })).toEqual({
      valid: true,
    });
  });

  it('rejects a changed payload, id or secret', () => {
    expect(verifyWebhook(headers, PAYLOAD.replace('2', '3'), SECRET, { now: AT })).toEqual({
      valid: false,
      reason: 'no_match',
    });
    expect(verifyWebhook({ ...headers, 'webhook-id': 'msg_other' }, PAYLOAD, SECRET, { now: AT }).valid).toBe(false);
    expect(verifyWebhook(headers, PAYLOAD, generateWebhookSecret(), { now: AT }).valid).toBe(false);
  });

  it('rejects stale and future timestamps (replays)', () => {
    expect(verifyWebhook(headers, PAYLOAD, SECRET, { now: new Date(AT.getTime() + 301_000) })).toEqual({
      valid: false,
      reason: 'stale',
    });
    expect(verifyWebhook(headers, PAYLOAD, SECRET, { now: new Date(AT.getTime() - 301_000) })).toEqual({
      valid: false,
      reason: 'future',
    });
    expect(
      verifyWebhook(headers, PAYLOAD, SECRET, { now: new Date(AT.getTime() + 60_000), toleranceSeconds: 30 }).valid,
    ).toBe(false);
  });

  it('accepts any one of several space-separated signatures, skipping other versions', () => {
    const good = headers['webhook-signature'];
    const bad = 'v1,' + Buffer.alloc(32).toString('base64');
    const rotated = { ...headers, 'webhook-signature': `v2,${good.slice(3)} ${bad} ${good}` };
    expect(verifyWebhook(rotated, PAYLOAD, SECRET, { now: AT })).toEqual({ valid: true });
    const wrongVersion = { ...headers, 'webhook-signature': `v2,${good.slice(3)} ${bad}` };
    expect(verifyWebhook(wrongVersion, PAYLOAD, SECRET, { now: AT })).toEqual({ valid: false, reason: 'no_match' });
  });

  it('reads header names case-insensitively and reports missing or malformed ones', () => {
    const upper = {
      'Webhook-Id': headers['webhook-id'],
      'Webhook-Timestamp': headers['webhook-timestamp'],
      'Webhook-Signature': headers['webhook-signature'],
    };
    expect(verifyWebhook(upper, PAYLOAD, SECRET, { now: AT })).toEqual({ valid: true });
    expect(verifyWebhook({ 'webhook-id': ID }, PAYLOAD, SECRET, { now: AT })).toEqual({
      valid: false,
      reason: 'missing_headers',
    });
    expect(verifyWebhook({ ...headers, 'webhook-timestamp': '1e9' }, PAYLOAD, SECRET, { now: AT })).toEqual({
      valid: false,
      reason: 'invalid_timestamp',
    });
  });
});

// An implementation we did not write, so a shared misreading of the spec would show.
describe('interoperability with the standardwebhooks package', () => {
  it('its Webhook.verify accepts our signature', () => {
    const secret = generateWebhookSecret();
    const payload = JSON.stringify({ type: 'order.shipped', data: { id: 42, note: 'naïve ✓' } });
    const signed = signWebhook({ id: 'dlv_1', timestamp: Math.floor(Date.now() / 1000), payload, secret });
    expect(new Webhook(secret).verify(payload, { ...signed })).toEqual(JSON.parse(payload));
  });

  it('our verifyWebhook accepts its sign()', () => {
    const secret = generateWebhookSecret();
    const payload = JSON.stringify({ type: 'order.shipped' });
    const now = new Date();
    const headers = {
      'webhook-id': 'msg_2',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign('msg_2', now, payload),
    };
    expect(verifyWebhook(headers, payload, secret, { now })).toEqual({ valid: true });
  });

  it('computes the fixed vector as we do', () => {
    expect(new Webhook(SECRET).sign(ID, AT, PAYLOAD)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });
});
