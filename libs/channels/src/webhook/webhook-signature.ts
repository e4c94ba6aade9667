import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Standard Webhooks (standardwebhooks.com) signing, as Svix and others implement it. */

const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

// A type rather than an interface, so signed headers can be passed where any header record goes.
export type WebhookSignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignWebhookInput {
  id: string;
  /** unix seconds */
  timestamp: number;
  payload: string | Buffer;
  /** `whsec_<base64>` */
  secret: string;
}

export type WebhookVerification =
  { valid: true } | { valid: false; reason: 'missing_headers' | 'invalid_timestamp' | 'stale' | 'future' | 'no_match' };

export function generateWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

export function signWebhook({ id, timestamp, payload, secret }: SignWebhookInput): WebhookSignatureHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': `v1,${signature(id, String(timestamp), payload, secretKey(secret))}`,
  };
}

/**
 * Checks a received webhook: the timestamp must be within `toleranceSeconds` of `now` (either way,
 * so a captured request cannot be replayed later), and one of the space-separated `v1,` signatures
 * must match. Other signature versions are skipped, as the spec asks.
 */
export function verifyWebhook(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  payload: string | Buffer,
  secret: string,
  { toleranceSeconds = 300, now = new Date() }: { toleranceSeconds?: number; now?: Date } = {},
): WebhookVerification {
  const key = secretKey(secret);
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) return { valid: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(timestamp)) return { valid: false, reason: 'invalid_timestamp' };

  const age = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (age > toleranceSeconds) return { valid: false, reason: 'stale' };
  if (age < -toleranceSeconds) return { valid: false, reason: 'future' };

  const expected = Buffer.from(signature(id, timestamp, payload, key));
  const matches = signatures.split(' ').some((versioned) => {
    const [version, candidate] = versioned.split(',', 2);
    if (version !== 'v1' || candidate === undefined) return false;
    const given = Buffer.from(candidate);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  return matches ? { valid: true } : { valid: false, reason: 'no_match' };
}

function signature(id: string, timestamp: string, payload: string | Buffer, key: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(payload).digest('base64');
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Buffer.from(…, 'base64') skips characters it does not know; a mangled secret must fail loudly instead.
  if (!BASE64.test(encoded)) throw new Error('webhook secret is not whsec_ followed by base64');
  return Buffer.from(encoded, 'base64');
}

function header(headers: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}
