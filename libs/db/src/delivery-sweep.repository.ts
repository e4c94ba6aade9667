import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { Channel } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { inTransaction } from './transaction';

/** A delivery still in motion whose last sign of life is too old. */
export interface StuckDelivery {
  id: string;
  tenantId: string;
  channel: Channel;
  status: string;
}

/** An event handed to the fan-out but never fanned out. */
export interface StuckEvent {
  eventId: string;
  tenantId: string;
}

// Any constant works, as long as nothing else in Herald takes this advisory lock.
const SWEEP_LOCK = 0x4845_5244;

const TRY_SWEEP_LOCK = 'SELECT pg_try_advisory_xact_lock($1) AS locked';

// Deliveries still in motion whose last sign of life (change, due time, lease) is too old: their
// job may be gone (Redis lost its data, a failed enqueue). Oldest sign of life first, a bounded batch
// per tick. The index deliveries_stuck_idx is on exactly this GREATEST, over these states only, so a
// delivery waiting for a later not_before (quiet hours, a digest window, a retry) is never read.
export const STUCK_DELIVERIES = `
SELECT id, tenant_id AS "tenantId", channel, status
FROM deliveries
WHERE status IN ('pending', 'queued', 'deferred', 'sending')
  AND GREATEST(updated_at, not_before, lease_until) < now() - make_interval(secs => $1)
ORDER BY GREATEST(updated_at, not_before, lease_until)
LIMIT $2`;

// Events handed to the fan-out queue but never fanned out (their job lost with Redis's data). A topic
// event stays `accepted` while its batches run, each one touching updated_at: only a stalled one is stuck.
// Read from the events (index events_stuck_idx: `accepted` ones by GREATEST(updated_at, send_at), which
// skips a NULL send_at), not from the outbox: an event the relay handed over long ago may have no
// outbox row any more (retention purges published rows), and counts as published long ago.
export const STUCK_EVENTS = `
SELECT e.id AS "eventId", e.tenant_id AS "tenantId"
FROM events e
WHERE e.status = 'accepted'
  AND GREATEST(e.updated_at, e.send_at) < now() - make_interval(secs => $1)
  AND NOT EXISTS (
    SELECT 1 FROM outbox o
    WHERE o.event_id = e.id AND (o.published_at IS NULL OR o.published_at >= now() - make_interval(secs => $1)))
ORDER BY GREATEST(e.updated_at, e.send_at)
LIMIT $2`;

/**
 * System (spans tenants by nature): the housekeeping sweep's reads, which find deliveries and events still in
 * motion whose jobs may be gone, and its lock. What it changes (a stuck `pending` delivery becomes `queued`)
 * is DeliveriesRepository.markStuckQueued(), the one writer of a delivery's status.
 */
@Injectable()
export class DeliverySweepRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * System: runs `work` in one transaction holding the sweep's advisory lock (one sweeper at a time); null,
   * without running it, when another sweeper holds it. The lock goes with the transaction.
   */
  underSweepLock<T>(work: (client: PoolClient) => Promise<T>): Promise<T | null> {
    return inTransaction(this.pool, async (client) => {
      const lock = await client.query<{ locked: boolean }>(TRY_SWEEP_LOCK, [SWEEP_LOCK]);
      return lock.rows[0].locked ? work(client) : null;
    });
  }

  /** System: up to `limit` deliveries in motion with no sign of life for `stuckAfterSeconds`, oldest first. */
  async stuckDeliveries(stuckAfterSeconds: number, limit: number, client: PoolClient): Promise<StuckDelivery[]> {
    const { rows } = await client.query<StuckDelivery>(STUCK_DELIVERIES, [stuckAfterSeconds, limit]);
    return rows;
  }

  /** System: up to `limit` accepted events not fanned out for `stuckAfterSeconds`, oldest first. */
  async stuckEvents(stuckAfterSeconds: number, limit: number, client: PoolClient): Promise<StuckEvent[]> {
    const { rows } = await client.query<StuckEvent>(STUCK_EVENTS, [stuckAfterSeconds, limit]);
    return rows;
  }
}
