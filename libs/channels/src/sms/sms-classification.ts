import type { SendOutcome, SendResult } from '../provider';

/**
 * Twilio error codes that decide the outcome whatever HTTP status they come with. They are all
 * about the recipient or the account, so retrying the same message cannot help.
 */
const TWILIO_CODES: Readonly<Record<number, { outcome: SendOutcome; message: string }>> = {
  21211: { outcome: 'bad_address', message: 'invalid To phone number' },
  21612: { outcome: 'bad_address', message: 'Twilio cannot route a message to this number' },
  21614: { outcome: 'bad_address', message: 'the To number is not a mobile number' },
  21635: { outcome: 'bad_address', message: 'the To number cannot receive SMS (landline)' },
  21610: {
    outcome: 'bad_address',
    message: 'the recipient opted out (replied STOP); they must text START to resubscribe',
  },
  21408: { outcome: 'permanent', message: 'sending to the region of the To number is not enabled on the account' },
};

/** Socket-level failures: Twilio never saw the request (or we never saw its answer). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'ENOTFOUND', 'EAI_AGAIN']);

const MAX_MESSAGE = 200;

interface TwilioErrorShape {
  status?: unknown;
  code?: unknown;
  message?: unknown;
  headers?: unknown;
}

/**
 * Turns whatever `client.messages.create` rejected with into a SendResult: the SDK's RestException
 * (legacy `{code, message, more_info, status}` bodies), its TwilioServiceException (RFC 9457
 * bodies), an axios network error, or anything else. Only codes and short messages come out; the
 * error object itself (which holds the request config) never does.
 */
export function classifyTwilioError(err: unknown, now = Date.now()): SendResult {
  const e: TwilioErrorShape = typeof err === 'object' && err !== null ? err : {};
  const status = typeof e.status === 'number' ? e.status : undefined;
  const twilioCode = status !== undefined && typeof e.code === 'number' && e.code > 0 ? e.code : undefined;

  const known = twilioCode !== undefined ? TWILIO_CODES[twilioCode] : undefined;
  if (known) return { outcome: known.outcome, code: String(twilioCode), message: known.message };

  if (status !== undefined) {
    const code = String(twilioCode ?? status);
    const message = `Twilio HTTP ${status}${typeof e.message === 'string' && e.message ? `: ${e.message}` : ''}`;
    const result = { code, message: message.slice(0, MAX_MESSAGE) };
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(headerOf(e.headers, 'retry-after'), now);
      return { outcome: 'retryable', ...result, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    if (status >= 500) return { outcome: 'retryable', ...result };
    if (status >= 400) return { outcome: 'permanent', ...result };
  }

  const errno = typeof e.code === 'string' ? e.code : undefined;
  if (errno && NETWORK_CODES.has(errno))
    return { outcome: 'retryable', code: errno, message: `network error: ${errno}` };
  if (typeof e.message === 'string' && /socket hang up/i.test(e.message)) {
    return { outcome: 'retryable', code: errno ?? 'ECONNRESET', message: 'network error: socket hang up' };
  }
  // Unrecognised failures are assumed transient: a retry costs little, a lost SMS costs more.
  const name = err instanceof Error ? err.name : typeof err;
  return {
    outcome: 'retryable',
    ...(errno && { code: errno }),
    message: `unexpected error from Twilio client (${name})`,
  };
}

function headerOf(headers: unknown, name: string): unknown {
  if (typeof headers !== 'object' || headers === null) return undefined;
  return (headers as Record<string, unknown>)[name];
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value).trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
