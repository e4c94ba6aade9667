import type { Pool } from 'pg';
import type { Channel } from '@herald/core';
import { enqueueDeliveries, type DeliveryQueues } from '@herald/queue';

/** A delivery the fan-out means to exist: `skipped` (with the reason) when preferences opt it out. */
export interface PlannedDelivery {
  id: string;
  subscriberId: string | null;
  endpointId: string | null;
  channel: Channel;
  status: 'pending' | 'skipped';
  lastError: string | null;
}

// Ids are deterministic per event × recipient × channel, so a recipient reached twice (directly and
// through a topic, or through two topics), or a step run twice, adds nothing the second time. The
// same statement answers what is still `pending` — what it inserted, and what an earlier run that
// crashed before enqueueing left behind (of these ids, or of the whole event when $9) — so the
// step costs one round trip here. A CTE's inserts are not visible to its sibling SELECT, hence the UNION.
const INSERT_DELIVERIES = `
WITH inserted AS (
  INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, endpoint_id, channel, status, last_error)
  SELECT id, $2, $3, subscriber_id, endpoint_id, channel, status, last_error
  FROM unnest($1::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[])
    AS d(id, subscriber_id, endpoint_id, channel, status, last_error)
  ON CONFLICT (id) DO NOTHING
  RETURNING id, channel, status
)
SELECT id, channel FROM inserted WHERE status = 'pending'
UNION
SELECT id, channel FROM deliveries
WHERE event_id = $3 AND status = 'pending' AND ($9 OR id = ANY($1::uuid[]))`;

export type PendingDelivery = { id: string; channel: Channel };

/**
 * Inserts the planned deliveries and returns what is `pending` among them — or, with `wholeEvent`,
 * everything of the event still `pending` (the event's own step also picks up what a crashed run left).
 */
export async function insertDeliveries(
  pool: Pool,
  tenantId: string,
  eventId: string,
  rows: PlannedDelivery[],
  wholeEvent: boolean,
): Promise<PendingDelivery[]> {
  const { rows: pending } = await pool.query<PendingDelivery>({
    name: 'fanout-insert-deliveries',
    text: INSERT_DELIVERIES,
    values: [
      rows.map((r) => r.id),
      tenantId,
      eventId,
      rows.map((r) => r.subscriberId),
      rows.map((r) => r.endpointId),
      rows.map((r) => r.channel),
      rows.map((r) => r.status),
      rows.map((r) => r.lastError),
      wholeEvent,
    ],
  });
  return pending;
}

// Marks the enqueued deliveries `queued` and, when $2 is given, the event `routed` (its fan-out
// done) — one statement, as the step's last round trip.
const MARK_QUEUED = `
WITH queued AS (
  UPDATE deliveries SET status = 'queued', updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'
)
UPDATE events SET status = 'routed', updated_at = now() WHERE id = $2 AND status = 'accepted'`;

/**
 * Hands `pending` deliveries to their channel queues, then marks them `queued` — and the event
 * `routed` when `routedEventId` is given. A crash between the two leaves them `pending` for the
 * next run of the step (or the sweep); the queues' jobIds are the delivery ids, so adding one
 * twice does nothing.
 */
export async function enqueuePending(
  pool: Pool,
  queues: DeliveryQueues,
  tenantId: string,
  pending: PendingDelivery[],
  traceParent: string | undefined,
  routedEventId: string | null,
): Promise<number> {
  if (pending.length) {
    await enqueueDeliveries(
      queues,
      pending.map((row) => ({ ...row, tenantId })),
      traceParent,
    );
  }
  if (pending.length || routedEventId) {
    await pool.query({
      name: 'fanout-mark-queued',
      text: MARK_QUEUED,
      values: [pending.map((r) => r.id), routedEventId],
    });
  }
  return pending.length;
}
