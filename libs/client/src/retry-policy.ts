/** How often, and how patiently, the client retries. */
export interface RetryOptions {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  retries?: number;
  /** The first backoff step (default 250 ms); each retry doubles it. */
  baseDelayMs?: number;
  /**
   * No wait is longer than this (default 30 s). An answer whose `Retry-After` asks for longer is not retried:
   * it is thrown at once, its `retry-after` header telling the caller when to come back.
   */
  maxDelayMs?: number;
}

export const RETRY_DEFAULTS: Required<RetryOptions> = { retries: 3, baseDelayMs: 250, maxDelayMs: 30_000 };

/**
 * The wait before retry number `retry` (0 for the first): what `Retry-After` asks for when the answer has
 * one, otherwise backoffMs(). undefined when `Retry-After` asks for longer than `maxDelayMs`: retrying
 * sooner would only be refused again and use up the retries, so the answer is not retried.
 */
export function retryDelayMs(
  retry: number,
  retryAfter: string | null | undefined,
  policy: Required<RetryOptions>,
  clock: { now(): number; random(): number } = { now: Date.now, random: Math.random },
): number | undefined {
  const asked = parseRetryAfter(retryAfter, clock.now());
  if (asked === undefined) return backoffMs(retry, policy, clock);
  return asked <= policy.maxDelayMs ? asked : undefined;
}

/**
 * Exponential backoff with jitter — half of the step fixed, half random, so that clients failed by the
 * same outage do not all come back at the same instant — never longer than `maxDelayMs`.
 */
export function backoffMs(
  retry: number,
  { baseDelayMs, maxDelayMs }: Required<RetryOptions>,
  clock: { random(): number } = { random: Math.random },
): number {
  const step = Math.min(baseDelayMs * 2 ** retry, maxDelayMs);
  return Math.round(step / 2 + (clock.random() * step) / 2);
}

/** `Retry-After` in milliseconds from `now`: delta-seconds (`120`) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const trimmed = value?.trim();
  if (!trimmed) return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // HTTP dates start with the day's name (`Sun, 06 Nov 1994 08:49:37 GMT`); Date.parse alone would take `-5` too.
  const at = /^[A-Za-z]{3}/.test(trimmed) ? Date.parse(trimmed) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
