export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before retry number `attempt` (1 = the first retry): exponential backoff with full
 * jitter, a uniformly random wait in [0, min(max, base·2^(attempt-1))]. Full jitter spreads the
 * retries of a provider's outage over the whole window instead of stampeding it in waves.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The provider's own Retry-After wins over our backoff (capped by the policy's maximum). */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, policy.maxDelayMs);
  return backoffDelay(attempt, policy, random);
}
