import { Controller, Get, Inject, Query } from '@nestjs/common';
import type { Pool } from 'pg';
import { z } from 'zod';
import { PG_POOL } from '@herald/db';
import { QueueClients, QueueName, assertQueueReachable } from '@herald/queue';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { parse } from '../http/parse';

const WINDOWS = { '1h': 3600, '24h': 86_400 } as const;
const statsQuery = z.object({
  window: z
    .enum(['1h', '24h'])
    .default('1h')
    .describe('deliveries created within this window are counted, by their current status'),
});

// One grouped scan of the tenant's recent deliveries, over the (tenant_id, created_at) index.
const DELIVERIES_BY_CHANNEL_AND_STATUS = `
SELECT channel, status, count(*)::int AS count
FROM deliveries
WHERE tenant_id = $1 AND created_at >= now() - make_interval(secs => $2)
GROUP BY channel, status
ORDER BY channel, status`;

// Outbox rows are the events not yet handed to the fan-out; the partial index on unpublished rows
// keeps this to the (few) rows still waiting, whatever the table's size.
const OUTBOX_LAG = `
SELECT count(*)::int AS pending, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS "lagSeconds"
FROM outbox WHERE tenant_id = $1 AND published_at IS NULL`;

const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;
// A stats read must not wait for an unreachable Redis: its queues are then reported unavailable.
const QUEUE_CHECK_TIMEOUT_MS = 1000;

/** The tenant's overview for the console: recent deliveries by channel × status, queue depths, outbox lag. */
@Controller('v1/stats')
@Auth('admin')
export class StatsController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(QueueClients) private readonly queues: QueueClients,
  ) {}

  @Get()
  @ApiInput({ query: statsQuery })
  async get(@TenantId() tenantId: string, @Query() query: unknown) {
    const { window } = parse(statsQuery, query, 'query');
    const [deliveries, outbox, queues] = await Promise.all([
      this.pool.query<{ channel: string; status: string; count: number }>(DELIVERIES_BY_CHANNEL_AND_STATUS, [
        tenantId,
        WINDOWS[window],
      ]),
      this.pool.query<{ pending: number; lagSeconds: number }>(OUTBOX_LAG, [tenantId]),
      this.queueDepths(),
    ]);
    return {
      window,
      deliveries: deliveries.rows,
      outbox: { pending: outbox.rows[0]!.pending, lagSeconds: Math.round(outbox.rows[0]!.lagSeconds) },
      queues,
    };
  }

  /**
   * Jobs per state in each queue. The queues are shared by every tenant (a job names its tenant inside
   * its payload), so these are the platform's depths, not this tenant's share of them.
   */
  private queueDepths() {
    return Promise.all(
      Object.values(QueueName).map(async (name) => {
        const queue = this.queues.get(name);
        const counts = await assertQueueReachable(queue, QUEUE_CHECK_TIMEOUT_MS)
          .then(() => queue.getJobCounts(...JOB_STATES))
          .catch(() => undefined);
        return counts
          ? { name, available: true, jobs: Object.fromEntries(JOB_STATES.map((s) => [s, counts[s] ?? 0])) }
          : { name, available: false };
      }),
    );
  }
}
