import type { SendOutcome, SendResult } from '../provider';
import { SsrfBlockedError } from './ssrf-guard';

/** How one webhook POST ended, before it is judged. */
export type WebhookAttempt =
  | { kind: 'response'; status: number; location?: string; retryAfter?: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'error'; error: unknown };

interface StatusRule {
  from: number;
  to: number;
  outcome: SendOutcome;
  explain?: string;
  namesLocation?: boolean;
  honoursRetryAfter?: boolean;
}

/** First matching rule wins, so the specific statuses come before their class. */
const STATUS_RULES: readonly StatusRule[] = [
  { from: 200, to: 299, outcome: 'ok' },
  { from: 300, to: 399, outcome: 'permanent', explain: 'redirects are not followed', namesLocation: true },
  { from: 408, to: 408, outcome: 'retryable', explain: 'request timeout', honoursRetryAfter: true },
  { from: 410, to: 410, outcome: 'bad_address', explain: 'the endpoint is gone' },
  { from: 429, to: 429, outcome: 'retryable', explain: 'rate limited', honoursRetryAfter: true },
  { from: 400, to: 499, outcome: 'permanent', explain: 'the endpoint rejected the request' },
  { from: 500, to: 599, outcome: 'retryable', explain: 'the endpoint failed', honoursRetryAfter: true },
];

const MAX_TEXT = 200;

export function classifyWebhookAttempt(attempt: WebhookAttempt, deliveryId: string, now = Date.now()): SendResult {
  switch (attempt.kind) {
    case 'response':
      return classifyResponse(attempt, deliveryId, now);
    case 'timeout':
      return { outcome: 'retryable', code: 'timeout', message: `no answer within ${attempt.timeoutMs} ms` };
    case 'error':
      return classifyError(attempt.error);
  }
}

function classifyResponse(
  { status, location, retryAfter }: Extract<WebhookAttempt, { kind: 'response' }>,
  deliveryId: string,
  now: number,
): SendResult {
  const rule = STATUS_RULES.find((r) => status >= r.from && status <= r.to);
  const code = String(status);
  if (!rule) return { outcome: 'permanent', code, message: `unexpected HTTP status ${status}` };
  if (rule.outcome === 'ok') return { outcome: 'ok', code, providerMessageId: deliveryId };

  const where = rule.namesLocation ? ` (Location: ${redactLocation(location)})` : '';
  const result: SendResult = { outcome: rule.outcome, code, message: `HTTP ${status}: ${rule.explain}${where}` };
  const retryAfterMs = rule.honoursRetryAfter ? parseRetryAfter(retryAfter, now) : undefined;
  return retryAfterMs === undefined ? result : { ...result, retryAfterMs };
}

// The query string is left out: it may carry a token.
function redactLocation(location: string | undefined): string {
  return location ? location.split(/[?#]/, 1)[0].slice(0, MAX_TEXT) : 'none';
}

function classifyError(error: unknown): SendResult {
  if (error instanceof SsrfBlockedError) {
    return { outcome: 'permanent', code: error.code, message: error.message };
  }
  // A connection that failed or dropped: the endpoint may well be back later.
  const errno = (error as { code?: unknown } | null)?.code;
  const code = typeof errno === 'string' ? errno : 'network_error';
  const detail = error instanceof Error ? error.message : String(error);
  return { outcome: 'retryable', code, message: `network error: ${detail}`.slice(0, MAX_TEXT) };
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
