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
// through a topic, or through two topics), or a step run twice, adds nothing the second time.
const INSERT_DELIVERIES = `
INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, endpoint_id, channel, status, last_error)
SELECT id, $2, $3, subscriber_id, endpoint_id, channel, status, last_error
FROM unnest($1::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[])
  AS d(id, subscriber_id, endpoint_id, channel, status, last_error)
ON CONFLICT (id) DO NOTHING`;

export async function insertDeliveries(
  pool: Pool,
  tenantId: string,
  eventId: string,
  rows: PlannedDelivery[],
): Promise<void> {
  if (!rows.length) return;
  await pool.query(INSERT_DELIVERIES, [
    rows.map((r) => r.id),
    tenantId,
    eventId,
    rows.map((r) => r.subscriberId),
    rows.map((r) => r.endpointId),
    rows.map((r) => r.channel),
    rows.map((r) => r.status),
    rows.map((r) => r.lastError),
  ]);
}

const MARK_QUEUED = `UPDATE deliveries SET status = 'queued', updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'`;

/**
 * Hands `pending` deliveries to their channel queues, then marks them `queued`. A crash between the
 * two leaves them `pending` for the next run of the step (or the sweep); the queues' jobIds are the
 * delivery ids, so adding one twice does nothing.
 */
export async function enqueuePending(
  pool: Pool,
  queues: DeliveryQueues,
  tenantId: string,
  pending: { id: string; channel: Channel }[],
  traceParent?: string,
): Promise<number> {
  if (!pending.length) return 0;
  await enqueueDeliveries(
    queues,
    pending.map((row) => ({ ...row, tenantId })),
    traceParent,
  );
  await pool.query(MARK_QUEUED, [pending.map((r) => r.id)]);
  return pending.length;
}
