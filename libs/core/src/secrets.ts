import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type KeyScope = 'admin' | 'ingest';

/** A tenant key: `hk_<scope>_<43 chars of base64url randomness>`; only its SHA-256 is stored. */
export function generateApiKey(scope: KeyScope): { key: string; prefix: string; hash: string } {
  const key = `hk_${scope}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix: key.slice(0, scope.length + 8), hash: hashSecret(key) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Compares two secrets in constant time (both are hashed first, so lengths never leak). */
export function secretsEqual(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export interface InboxTokenClaims {
  tenantId: string;
  subscriberId: string;
  /** expiry, seconds since the epoch */
  exp: number;
  /**
   * The admin key that issued the token: revoking that key refuses the token too. Tokens issued before
   * this claim existed have none, and are refused only when their tenant is revoked (or they expire).
   */
  keyId?: string;
}

const INBOX_PREFIX = 'hit_';

/** A short-lived token for one subscriber's inbox: `hit_<base64url claims>.<base64url HMAC-SHA256>`. */
export function signInboxToken(claims: InboxTokenClaims, secret: string): string {
  const body = Buffer.from(
    JSON.stringify({ t: claims.tenantId, s: claims.subscriberId, e: claims.exp, k: claims.keyId }),
  ).toString('base64url');
  return `${INBOX_PREFIX}${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/** The claims of a valid, unexpired token; null for anything forged, malformed or expired. */
export function verifyInboxToken(token: string, secret: string, nowSeconds: number): InboxTokenClaims | null {
  if (!token.startsWith(INBOX_PREFIX)) return null;
  const [body, mac, extra] = token.slice(INBOX_PREFIX.length).split('.');
  if (!body || !mac || extra !== undefined) return null;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(mac, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const { t, s, e, k } = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (typeof t !== 'string' || typeof s !== 'string' || typeof e !== 'number' || e <= nowSeconds) return null;
    if (k !== undefined && typeof k !== 'string') return null;
    return { tenantId: t, subscriberId: s, exp: e, ...(k !== undefined && { keyId: k }) };
  } catch {
    return null;
  }
}
