import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { StatsRepository } from '@herald/db';
import { QueueClients, QueueName, assertQueueReachable } from '@herald/queue';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Returns } from '../docs/api-output.decorator';
import { statsSchema } from './stats.contract';
import { ValidQuery } from '../http/valid-input';

const WINDOWS = { '1h': 3600, '24h': 86_400 } as const;
const statsQuery = z.object({
  window: z
    .enum(['1h', '24h'])
    .default('1h')
    .describe('deliveries created within this window are counted, by their current status'),
});

const JOB_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;
// A stats read must not wait for an unreachable Redis: its queues are then reported unavailable.
const QUEUE_CHECK_TIMEOUT_MS = 1000;

/** The tenant's overview for the console: recent deliveries by channel × status, queue depths, outbox lag. */
@Controller('v1/stats')
@Auth('admin')
export class StatsController {
  constructor(
    private readonly stats: StatsRepository,
    private readonly queues: QueueClients,
  ) {}

  @Get()
  @Returns(statsSchema)
  async get(@TenantId() tenantId: string, @ValidQuery(statsQuery) { window }: z.infer<typeof statsQuery>) {
    const [deliveries, outbox, queues] = await Promise.all([
      this.stats.deliveriesByChannelAndStatus(tenantId, WINDOWS[window]),
      this.stats.outboxLag(tenantId),
      this.queueDepths(),
    ]);
    return {
      window,
      deliveries,
      outbox: { pending: outbox.pending, lagSeconds: Math.round(outbox.lagSeconds) },
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
