import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { verifyWebhook, WebhookVerificationError, type VerifyWebhookInput } from './verify-webhook';

// The Standard Webhooks spec's own example (and its reference libraries' test vector).
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const AT = new Date(1614265330 * 1000);
const PAYLOAD = '{"test": 2432232314}';
const VECTOR = {
  'webhook-id': ID,
  'webhook-timestamp': '1614265330',
  'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

/** Signed by the standardwebhooks package, an implementation we did not write. */
function signed(payload: string, secret: string, at = new Date(), id = 'msg_1'): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, at, payload),
  };
}

function failure(input: VerifyWebhookInput): string {
  try {
    verifyWebhook(input);
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return (error as WebhookVerificationError).reason;
  }
  throw new Error('verified');
}

describe('verifyWebhook', () => {
  it("accepts the spec's test vector", () => {
    expect(verifyWebhook({ payload: PAYLOAD, headers: VECTOR, secret: SECRET, now: AT })).toEqual({ test: 2432232314 });
  });

  it("accepts the standardwebhooks package's signatures and returns the payload parsed", () => {
    const secret = newSecret();
    const payload = JSON.stringify({ type: 'order.shipped', data: { orderId: '42', note: 'naïve ✓' } });
    const headers = signed(payload, secret);
    const parsed = verifyWebhook<{ type: string }>({ payload, headers, secret });
    expect(parsed).toEqual(JSON.parse(payload));
    expect(parsed.type).toBe('order.shipped');
    // the body as bytes, and the headers as fetch gives them
    expect(verifyWebhook({ payload: Buffer.from(payload), headers: new Headers(headers), secret })).toEqual(parsed);
    expect(verifyWebhook({ payload: new TextEncoder().encode(payload), headers, secret })).toEqual(parsed);
  });

  it('reads header names in any case, and the first of repeated headers', () => {
    const upper = Object.fromEntries(Object.entries(VECTOR).map(([k, v]) => [k.toUpperCase(), [v, 'ignored']]));
    expect(verifyWebhook({ payload: PAYLOAD, headers: upper, secret: SECRET, now: AT })).toEqual({ test: 2432232314 });
  });

  it('refuses a changed payload, id or secret', () => {
    expect(failure({ payload: PAYLOAD.replace('2', '3'), headers: VECTOR, secret: SECRET, now: AT })).toBe('no_match');
    expect(failure({ payload: PAYLOAD, headers: { ...VECTOR, 'webhook-id': 'msg_2' }, secret: SECRET, now: AT })).toBe(
      'no_match',
    );
    expect(failure({ payload: PAYLOAD, headers: VECTOR, secret: newSecret(), now: AT })).toBe('no_match');
  });

  it('refuses timestamps more than the tolerance away, either way', () => {
    const at = (seconds: number) => new Date(AT.getTime() + seconds * 1000);
    expect(verifyWebhook({ payload: PAYLOAD, headers: VECTOR, secret: SECRET, now: at(300) })).toBeDefined();
    expect(failure({ payload: PAYLOAD, headers: VECTOR, secret: SECRET, now: at(301) })).toBe('stale');
    expect(failure({ payload: PAYLOAD, headers: VECTOR, secret: SECRET, now: at(-301) })).toBe('future');
    expect(failure({ payload: PAYLOAD, headers: VECTOR, secret: SECRET, now: at(60), toleranceSeconds: 30 })).toBe(
      'stale',
    );
  });

  it('accepts any one of several signatures (a rotated secret), skipping versions other than v1', () => {
    const good = VECTOR['webhook-signature'];
    const other = `v1,${Buffer.alloc(32).toString('base64')}`;
    const headers = (signature: string) => ({ ...VECTOR, 'webhook-signature': signature });
    expect(
      verifyWebhook({
        payload: PAYLOAD,
        headers: headers(`v1a,${good.slice(3)} ${other} ${good}`),
        secret: SECRET,
        now: AT,
      }),
    ).toBeDefined();
    expect(
      failure({ payload: PAYLOAD, headers: headers(`v2,${good.slice(3)} ${other}`), secret: SECRET, now: AT }),
    ).toBe('no_match');
    expect(failure({ payload: PAYLOAD, headers: headers('v1,not base64!'), secret: SECRET, now: AT })).toBe('no_match');
  });

  it('says which header is missing or malformed', () => {
    const { 'webhook-signature': _, ...unsigned } = VECTOR;
    expect(failure({ payload: PAYLOAD, headers: unsigned, secret: SECRET, now: AT })).toBe('missing_headers');
    expect(
      failure({ payload: PAYLOAD, headers: { ...VECTOR, 'webhook-timestamp': '1e9' }, secret: SECRET, now: AT }),
    ).toBe('invalid_timestamp');
  });

  it('refuses a secret that is not base64 rather than verifying with part of it', () => {
    expect(() => verifyWebhook({ payload: PAYLOAD, headers: VECTOR, secret: 'whsec_not base64!', now: AT })).toThrow(
      /base64/,
    );
  });
});
