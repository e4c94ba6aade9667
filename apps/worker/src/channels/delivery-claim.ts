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

/** Hands a claimed delivery back (e.g. the database hiccuped mid-delivery) so a retry can claim it at once. */
export async function releaseDelivery(pool: Pool, id: string): Promise<void> {
  await pool.query(
    `UPDATE deliveries SET status = 'queued', lease_until = NULL, updated_at = now() WHERE id = $1 AND status = 'sending'`,
    [id],
  );
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

/** Ends the claim on a delivery and records the attempt, in the caller's transaction when given one. */
export async function finishDelivery(
  client: PoolClient | Pool,
  delivery: ClaimedDelivery,
  end: DeliveryEnd,
): Promise<void> {
  await client.query(
    `UPDATE deliveries SET status = $2, lease_until = NULL, updated_at = now(),
       sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END,
       provider_message_id = COALESCE($3, provider_message_id),
       last_error = CASE WHEN $2 = 'sent' THEN NULL ELSE $4 END,
       not_before = $5
     WHERE id = $1 AND status = 'sending'`,
    [
      delivery.id,
      end.status,
      end.providerMessageId ?? null,
      end.reason ?? end.attempt?.message ?? null,
      end.notBefore ?? null,
    ],
  );
  if (!end.attempt) return;
  const { outcome, provider, code, message } = end.attempt;
  await client.query(
    `INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, code, message) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (delivery_id, attempt) DO NOTHING`,
    [delivery.id, delivery.attempt, outcome, provider ?? null, code ?? null, message ?? null],
  );
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
       not_before = $4, updated_at = now()
     WHERE id = $1 AND status = 'sending'`,
    [delivery.id, end.status, end.reason, end.notBefore ?? null],
  );
}
