import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Checks a webhook Herald sent, per the Standard Webhooks spec (standardwebhooks.com): HMAC-SHA256 over
 * `<webhook-id>.<webhook-timestamp>.<body>` with the endpoint's secret, a `webhook-timestamp` within
 * `toleranceSeconds` of now (either way, so a captured request cannot be replayed later).
 */
export interface VerifyWebhookInput {
  /** The body exactly as received (bytes or text): not a re-serialized object, or the signature will not match. */
  payload: string | Buffer | Uint8Array;
  /** The request's headers (any case), as Node, Express, Fastify or fetch give them. */
  headers: Headers | Record<string, string | string[] | undefined>;
  /** The endpoint's secret, `whsec_<base64>` (shown once, when the endpoint was created). */
  secret: string;
  /** Default 300 (five minutes). */
  toleranceSeconds?: number;
  /** For tests: the time to check the timestamp against. */
  now?: Date;
}

export type WebhookVerificationFailure = 'missing_headers' | 'invalid_timestamp' | 'stale' | 'future' | 'no_match';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';

  constructor(
    readonly reason: WebhookVerificationFailure,
    message: string,
  ) {
    super(message);
  }
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The payload parsed as JSON when the signature is good; throws a WebhookVerificationError otherwise. */
export function verifyWebhook<T = unknown>({
  payload,
  headers,
  secret,
  toleranceSeconds = 300,
  now = new Date(),
}: VerifyWebhookInput): T {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(
      'missing_headers',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    );
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not unix seconds');
  }
  const age = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (age > toleranceSeconds) throw new WebhookVerificationError('stale', `the webhook is ${age} s old`);
  if (age < -toleranceSeconds) throw new WebhookVerificationError('future', `the webhook is dated ${-age} s ahead`);

  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  const expected = createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.`).update(bytes).digest();
  // Several space-separated signatures while a secret is rotated; versions other than v1 are skipped.
  const matches = signatures.split(' ').some((versioned) => {
    const [version, candidate] = versioned.split(',', 2);
    if (version !== 'v1' || candidate === undefined || !BASE64.test(candidate)) return false;
    const given = Buffer.from(candidate, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('no_match', 'no signature matches this payload and secret');
  return JSON.parse(bytes.toString('utf8')) as T;
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Buffer.from(…, 'base64') skips characters it does not know: a mangled secret must fail loudly instead.
  if (!BASE64.test(encoded)) throw new TypeError('the webhook secret is not whsec_ followed by base64');
  return Buffer.from(encoded, 'base64');
}

function header(headers: VerifyWebhookInput['headers'], name: string): string | undefined {
  if (isHeaders(headers)) return headers.get(name) ?? undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

// Duck-typed: a Headers from another fetch implementation (or realm) is not `instanceof` this one's.
function isHeaders(headers: VerifyWebhookInput['headers']): headers is Headers {
  return typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function';
}
