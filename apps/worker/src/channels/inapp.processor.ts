import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap } from '@nestjs/common';
import { DelayedError, type Job } from 'bullmq';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { PG_POOL } from '@herald/db';
import { QueueName, type DeliveryJob } from '@herald/queue';
import { DeliverInappUseCase } from './deliver-inapp.usecase';
import { claimDelivery, releaseDelivery } from './delivery-claim';

@Processor(QueueName.DeliverInapp)
export class InappProcessor extends WorkerHost implements OnApplicationBootstrap {
  constructor(
    @Inject(DeliverInappUseCase) private readonly inapp: DeliverInappUseCase,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    this.worker.concurrency = this.config.concurrency.inapp;
  }

  async process(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const claim = await claimDelivery(this.pool, job.data.deliveryId, this.config.deliveryLeaseSeconds);
    if (!claim.claimed) {
      if (claim.status === 'sending' && claim.leaseUntil && token) {
        // Another worker holds a live lease: look again when it runs out, in case that worker died.
        await job.moveToDelayed(claim.leaseUntil.getTime() + 100, token);
        throw new DelayedError();
      }
      return `skipped: delivery is ${claim.status}`;
    }
    try {
      return await this.inapp.deliver(claim.delivery);
    } catch (err) {
      await releaseDelivery(this.pool, claim.delivery.id).catch(() => undefined);
      throw err;
    }
  }
}
