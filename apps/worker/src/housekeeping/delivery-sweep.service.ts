import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { DeliveriesRepository, DeliverySweepRepository } from '@herald/db';
import { QueueName, QueueRegistry, ensureDeliveryJob, ensureJob, type JobOf } from '@herald/queue';

const BATCH = 500;

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
    private readonly sweep: DeliverySweepRepository,
    private readonly deliveries: DeliveriesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly queues: QueueRegistry,
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
    const result = await this.sweep.underSweepLock(async (client) => {
      const queues = this.queues.deliveryQueues;
      const deliveries = await this.sweep.stuckDeliveries(stuckAfterSeconds, BATCH, client);
      let requeued = 0;
      for (const delivery of deliveries) {
        if ((await ensureDeliveryJob(queues, delivery)) !== 'exists') requeued++;
      }
      const pending = deliveries.filter((d) => d.status === 'pending').map((d) => d.id);
      await this.deliveries.markStuckQueued(pending, client);

      const events = await this.sweep.stuckEvents(stuckAfterSeconds, BATCH, client);
      for (const event of events) {
        const job = { tenantId: event.tenantId, eventIds: [event.eventId] };
        if ((await ensureJob(this.fanout, QueueName.Fanout, event.eventId, job)) !== 'exists') requeued++;
      }
      return { checked: deliveries.length + events.length, requeued };
    });
    return result ?? { checked: 0, requeued: 0 };
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
