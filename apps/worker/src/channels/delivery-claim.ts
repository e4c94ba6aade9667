import type { Pool, PoolClient } from 'pg';
import { CLAIMABLE_STATUSES, type Channel } from '@herald/core';

export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  eventId: string;
  subscriberId: string | null;
  endpointId: string | null;
  channel: Channel;
  attempt: number;
  /** attempts made before the last dead-letter replay: the retry budget counts from here */
  attemptFloor: number;
}

export type ClaimResult =
  { claimed: true; delivery: ClaimedDelivery } | { claimed: false; status: string; leaseUntil: Date | null };

// The claim is the exactly-once gate: one conditional UPDATE wins; a delivery already sent (or
// held by a live claimant) is not claimable. A lease that ran out (its worker died) can be
// taken over, so a crash never strands a delivery in `sending`.
const CLAIM = `
UPDATE deliveries
SET status = 'sending', attempts = attempts + 1, lease_until = now() + make_interval(secs => $2), updated_at = now()
WHERE id = $1 AND (status = ANY($3::text[]) OR (status = 'sending' AND lease_until < now()))
RETURNING id, tenant_id AS "tenantId", event_id AS "eventId", subscriber_id AS "subscriberId",
  endpoint_id AS "endpointId", channel, attempts AS attempt, attempt_floor AS "attemptFloor"`;

export async function claimDelivery(pool: Pool, id: string, leaseSeconds: number): Promise<ClaimResult> {
  const { rows } = await pool.query<ClaimedDelivery>(CLAIM, [id, leaseSeconds, CLAIMABLE_STATUSES]);
  if (rows[0]) return { claimed: true, delivery: rows[0] };
  const current = await pool.query<{ status: string; leaseUntil: Date | null }>(
    'SELECT status, lease_until AS "leaseUntil" FROM deliveries WHERE id = $1',
    [id],
  );
  return {
    claimed: false,
    status: current.rows[0]?.status ?? 'missing',
    leaseUntil: current.rows[0]?.leaseUntil ?? null,
  };
}

/**
 * Every write that ends or extends a claim is fenced by the claim's attempt number: a worker whose lease
 * ran out (a long send, a blocked event loop) and was taken over must not overwrite its successor's
 * outcome. The successor's claim incremented `attempts`, so the old claimant's writes match no row.
 */
const FENCE = `status = 'sending' AND attempts = $2::int`;

/** Hands a claimed delivery back (e.g. the database hiccuped mid-delivery) so a retry can claim it at once. */
export async function releaseDelivery(pool: Pool, delivery: ClaimedDelivery): Promise<void> {
  await pool.query(
    `UPDATE deliveries SET status = 'queued', lease_until = NULL, updated_at = now() WHERE id = $1 AND ${FENCE}`,
    [delivery.id, delivery.attempt],
  );
}

/**
 * Extends the claim's lease while a send is still running; false when the claim was lost (the lease
 * had already run out and another worker took the delivery over).
 */
export async function renewLease(pool: Pool, delivery: ClaimedDelivery, leaseSeconds: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE deliveries SET lease_until = now() + make_interval(secs => $3) WHERE id = $1 AND ${FENCE}`,
    [delivery.id, delivery.attempt, leaseSeconds],
  );
  return rowCount === 1;
}

export interface AttemptRecord {
  outcome: 'ok' | 'retryable' | 'permanent' | 'bad_address';
  /** which provider answered, e.g. 'smtp', 'twilio' */
  provider?: string;
  code?: string;
  message?: string;
}

export interface DeliveryEnd {
  /** `queued`: handed back for a retry; the others end the claim for good */
  status: 'sent' | 'failed' | 'dead' | 'skipped' | 'suppressed' | 'queued';
  attempt?: AttemptRecord;
  providerMessageId?: string;
  /** why it did not go out (stored as last_error; defaults to the attempt's message) */
  reason?: string;
  /** `queued` for a retry: when it is due */
  notBefore?: Date;
}

/**
 * What `finishDelivery` writes, as CTEs over parameters $<first>…$<first + 9> (see finishParams):
 * the status update (fenced by the claim's attempt number, see FENCE) and, when there is an attempt, its row. A channel adds its own write to the
 * same statement (the in-app message), so all of it commits at once, in one round trip.
 */
export function finishCtes(first: number): string {
  const $ = (i: number) => `$${first + i}`;
  return `finished AS (
  UPDATE deliveries SET status = ${$(1)}::text, lease_until = NULL, updated_at = now(),
    sent_at = CASE WHEN ${$(1)}::text = 'sent' THEN now() ELSE sent_at END,
    provider_message_id = COALESCE(${$(2)}::text, provider_message_id),
    last_error = CASE WHEN ${$(1)}::text = 'sent' THEN NULL ELSE ${$(3)}::text END,
    not_before = ${$(4)}::timestamptz
  WHERE id = ${$(0)}::uuid AND status = 'sending' AND attempts = ${$(5)}::int
), attempted AS (
  ${insertAttempt([$(0), $(5), $(6), $(7), $(8), $(9)], `${$(6)}::text IS NOT NULL`)}
)`;
}

/**
 * The attempt row, over the parameters holding its delivery id, attempt number, outcome, provider,
 * code and message, written when `condition` holds; a row already there (a retried write) stays.
 */
export function insertAttempt(params: readonly string[], condition: string): string {
  const [id, attempt, outcome, provider, code, message] = params;
  return `INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, code, message)
  SELECT ${id}::uuid, ${attempt}::int, ${outcome}::text, ${provider}::text, ${code}::text, ${message}::text
  WHERE ${condition}
  ON CONFLICT (delivery_id, attempt) DO NOTHING`;
}

/** The ten parameters of finishCtes, in its order. */
export function finishParams(delivery: ClaimedDelivery, end: DeliveryEnd): unknown[] {
  const attempt = end.attempt;
  return [
    delivery.id,
    end.status,
    end.providerMessageId ?? null,
    end.reason ?? attempt?.message ?? null,
    end.notBefore ?? null,
    delivery.attempt,
    attempt?.outcome ?? null,
    attempt?.provider ?? null,
    attempt?.code ?? null,
    attempt?.message ?? null,
  ];
}

/**
 * Ends the claim on a delivery and records the attempt: one statement (so one round trip and one
 * commit), in the caller's transaction when given one.
 */
export async function finishDelivery(
  client: PoolClient | Pool,
  delivery: ClaimedDelivery,
  end: DeliveryEnd,
): Promise<void> {
  await client.query(`WITH ${finishCtes(1)} SELECT 1`, finishParams(delivery, end));
}

/**
 * Ends a claim that made no attempt (the subscriber is over their rate limit): the delivery is
 * `deferred` until `notBefore`, or `rate_limited` for good, and the claim's attempt is given back.
 */
export async function holdBackDelivery(
  pool: Pool,
  delivery: ClaimedDelivery,
  end: { status: 'deferred' | 'rate_limited'; reason: string; notBefore?: Date },
): Promise<void> {
  await pool.query(
    `UPDATE deliveries SET status = $2, attempts = attempts - 1, lease_until = NULL, last_error = $3,
       not_before = $4, updated_at = now(),
       last_deferral = jsonb_build_object('at', now(), 'status', $2::text, 'reason', $3::text, 'until', $4::timestamptz)
     WHERE id = $1 AND status = 'sending' AND attempts = $5::int`,
    [delivery.id, end.status, end.reason, end.notBefore ?? null, delivery.attempt],
  );
}
