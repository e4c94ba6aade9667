/** Delivery states (docs/reference.md, "Delivery statuses"). */
export const DELIVERY_STATUSES = [
  'pending',
  'queued',
  'deferred',
  'sending',
  'sent',
  'delivered',
  'failed',
  'dead',
  'suppressed',
  'skipped',
  'rate_limited',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

const transitions: Record<DeliveryStatus, readonly DeliveryStatus[]> = {
  // pending → sending: a channel worker may pick the job up before the fan-out has marked the
  // delivery queued (the mark follows the enqueue, so a failed enqueue leaves it pending to retry).
  pending: ['queued', 'sending', 'suppressed', 'skipped'],
  queued: ['sending', 'deferred', 'rate_limited', 'suppressed', 'skipped'],
  deferred: ['queued', 'sending', 'rate_limited'],
  // sending → sending is a re-claim after the previous claimant's lease ran out; → skipped when
  // the subscriber turns out to have no address on the channel (no email, no active device, …);
  // → deferred / rate_limited when the claimant finds the subscriber over their rate limit.
  sending: ['sending', 'sent', 'queued', 'deferred', 'rate_limited', 'failed', 'dead', 'skipped', 'suppressed'],
  // sent → queued: the carrier's receipt says try again later (Twilio 30003), within the retry budget.
  sent: ['delivered', 'failed', 'queued'],
  delivered: [],
  // A dead delivery leaves the DLQ through a replay, or a purge (the operator gives up on it).
  dead: ['queued', 'failed'],
  failed: [],
  suppressed: [],
  skipped: [],
  rate_limited: [],
};

export function canTransition(from: DeliveryStatus, to: DeliveryStatus): boolean {
  return transitions[from].includes(to);
}

/**
 * The statuses from which the table lets a delivery become `to`, in table order: the from-status condition of a
 * statement that sets `to` (`status = ANY($n)`), so a change the table forbids matches no row. `among` narrows
 * it to what the statement itself acts on (a replay takes dead letters only, a receipt a sent delivery).
 */
export function statusesThatMayBecome(
  to: DeliveryStatus,
  among: readonly DeliveryStatus[] = DELIVERY_STATUSES,
): DeliveryStatus[] {
  return DELIVERY_STATUSES.filter((from) => among.includes(from) && canTransition(from, to));
}

/** The statuses the table lets a delivery in `from` become. */
export function nextStatuses(from: DeliveryStatus): DeliveryStatus[] {
  return [...transitions[from]];
}

/** States a delivery worker may claim from (the claim's WHERE clause is built from this). */
export const CLAIMABLE_STATUSES: readonly DeliveryStatus[] = (Object.keys(transitions) as DeliveryStatus[]).filter(
  (from) => from !== 'sending' && canTransition(from, 'sending'),
);

/** A delivery in one of these states will not change again without an operator's action. */
export function isTerminal(status: DeliveryStatus): boolean {
  return transitions[status].length === 0 || status === 'dead' || status === 'sent';
}
