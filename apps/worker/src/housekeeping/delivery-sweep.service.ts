import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Channel } from '@herald/core';
import { DeliveriesRepository, PG_POOL, inTransaction } from '@herald/db';
import { QueueName, QueueRegistry, ensureDeliveryJob, ensureJob, type JobOf } from '@herald/queue';

const BATCH = 500;
// Any constant works, as long as nothing else in Herald takes this advisory lock.
const SWEEP_LOCK = 0x4845_5244;

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

export interface SweepResult {
  checked: number;
  requeued: number;
}

/**
 * Housekeeping (role `housekeeping`): makes sure every delivery and event still in motion has a
 * job. Re-adding uses the same jobIds as the first enqueue, so a job that still exists is never
 * doubled, and the conditional claim absorbs any redelivery. One sweeper at a time (advisory lock).
 */
@Injectable()
export class DeliverySweepService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('housekeeping');
  private timer?: NodeJS.Timeout;
  private current?: Promise<unknown>;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(DeliveriesRepository) private readonly deliveries: DeliveriesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(QueueRegistry) private readonly queues: QueueRegistry,
    @InjectQueue(QueueName.Fanout) private readonly fanout: Queue<JobOf<typeof QueueName.Fanout>>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** One pass; `stuckAfterSeconds` defaults to the configured threshold. */
  async sweepOnce(stuckAfterSeconds = this.config.housekeeping.stuckAfterSeconds): Promise<SweepResult> {
    return inTransaction(this.pool, async (client) => {
      const lock = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [
        SWEEP_LOCK,
      ]);
      if (!lock.rows[0].locked) return { checked: 0, requeued: 0 };

      const queues = this.queues.deliveryQueues;
      const deliveries = await client.query<{ id: string; tenantId: string; channel: Channel; status: string }>(
        STUCK_DELIVERIES,
        [stuckAfterSeconds, BATCH],
      );
      let requeued = 0;
      for (const delivery of deliveries.rows) {
        if ((await ensureDeliveryJob(queues, delivery)) !== 'exists') requeued++;
      }
      const pending = deliveries.rows.filter((d) => d.status === 'pending').map((d) => d.id);
      await this.deliveries.markStuckQueued(pending, client);

      const events = await client.query<{ eventId: string; tenantId: string }>(STUCK_EVENTS, [
        stuckAfterSeconds,
        BATCH,
      ]);
      for (const event of events.rows) {
        const job = { tenantId: event.tenantId, eventIds: [event.eventId] };
        if ((await ensureJob(this.fanout, QueueName.Fanout, event.eventId, job)) !== 'exists') requeued++;
      }
      return { checked: deliveries.rows.length + events.rows.length, requeued };
    });
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.current = this.sweepOnce()
        .then(({ requeued }) => {
          if (requeued) this.logger.warn(`re-enqueued ${requeued} deliveries/events whose jobs were missing`);
        })
        .catch((err: Error) => this.logger.warn(`sweep failed: ${err.message}`))
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, this.config.housekeeping.intervalMs);
  }
}
