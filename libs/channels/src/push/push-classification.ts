import type { SendOutcome } from '../provider';

export interface FcmErrorClass {
  outcome: SendOutcome;
  code: string;
  message: string;
  retryAfterMs?: number;
}

interface Rule {
  /** the firebase-admin error code (`messaging/…`, `app/…`) */
  code: string;
  /** narrows the rule to errors whose message matches */
  when?: RegExp;
  outcome: SendOutcome;
  retryAfterMs?: number;
}

/** The token endpoint (or FCM) could not be reached: an outage, not a bad key. */
const NETWORK_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|UND_ERR_|socket hang up|status code 5\d\d/i;

/**
 * firebase-admin 13 error codes, first match wins. The SDK folds several FCM answers into one code,
 * so some rows look at the message to tell them apart.
 */
const RULES: readonly Rule[] = [
  { code: 'messaging/registration-token-not-registered', outcome: 'bad_address' },
  // legacy API and topic management only, but the token is just as dead
  { code: 'messaging/invalid-registration-token', outcome: 'bad_address' },
  // PERMISSION_DENIED (the service account lacks the IAM permission) shares SENDER_ID_MISMATCH's code;
  // only the latter says the token belongs to another project.
  { code: 'messaging/mismatched-credential', when: /permission '[^']*' denied/i, outcome: 'permanent' },
  { code: 'messaging/mismatched-credential', outcome: 'bad_address' },
  // FCM v1 answers a malformed token with a plain INVALID_ARGUMENT; only the message names the token.
  { code: 'messaging/invalid-argument', when: /registration token is not a valid/i, outcome: 'bad_address' },
  { code: 'messaging/invalid-argument', outcome: 'permanent' },
  { code: 'messaging/invalid-recipient', outcome: 'permanent' },
  { code: 'messaging/invalid-payload', outcome: 'permanent' },
  { code: 'messaging/invalid-data-payload-key', outcome: 'permanent' },
  { code: 'messaging/payload-size-limit-exceeded', outcome: 'permanent' },
  { code: 'messaging/invalid-options', outcome: 'permanent' },
  { code: 'messaging/invalid-package-name', outcome: 'permanent' },
  // The project's APNs / Web Push credentials are wrong (and the SDK files a rejected OAuth token, 401
  // UNAUTHENTICATED, under the same code): configuration to fix, not tokens to deactivate.
  { code: 'messaging/third-party-auth-error', outcome: 'permanent' },
  { code: 'messaging/authentication-error', outcome: 'permanent' },
  // QUOTA_EXCEEDED: FCM asks for at least a minute before the first retry, and the SDK drops Retry-After.
  { code: 'messaging/message-rate-exceeded', outcome: 'retryable', retryAfterMs: 60_000 },
  { code: 'messaging/device-message-rate-exceeded', outcome: 'retryable' },
  { code: 'messaging/server-unavailable', outcome: 'retryable' },
  { code: 'messaging/internal-error', outcome: 'retryable' },
  { code: 'messaging/unknown-error', outcome: 'retryable' },
  { code: 'app/network-error', outcome: 'retryable' },
  { code: 'app/network-timeout', outcome: 'retryable' },
  // every OAuth token failure becomes app/invalid-credential: only the message tells an outage from a bad key
  { code: 'app/invalid-credential', when: NETWORK_FAILURE, outcome: 'retryable' },
  { code: 'app/invalid-credential', outcome: 'permanent' },
];

const MAX_MESSAGE = 200;
const TOKEN_FAILURE = /failed to fetch a valid Google OAuth2 access token with the following error: "(.*)"\.?$/s;

/**
 * Turns what firebase-admin reported for one token (a FirebaseMessagingError, a FirebaseAppError
 * from the transport or the credential, or anything else) into an outcome. Unknown failures are
 * assumed transient: a retry costs little, a lost notification costs more.
 */
export function classifyFcmError(err: unknown): FcmErrorClass {
  const e = typeof err === 'object' && err !== null ? (err as { code?: unknown; message?: unknown }) : {};
  const code = typeof e.code === 'string' && e.code ? e.code : 'unknown';
  const message = typeof e.message === 'string' && e.message ? e.message : String(err);
  const rule = RULES.find((r) => r.code === code && (!r.when || r.when.test(message)));
  return {
    outcome: rule?.outcome ?? 'retryable',
    code,
    message: shorten(message),
    ...(rule?.retryAfterMs !== undefined && { retryAfterMs: rule.retryAfterMs }),
  };
}

/** Keeps the cause of an OAuth failure rather than the SDK's long preamble, which would fill the budget. */
function shorten(message: string): string {
  const cause = TOKEN_FAILURE.exec(message)?.[1];
  return (cause ? `OAuth2 access token: ${cause}` : message).slice(0, MAX_MESSAGE);
}
