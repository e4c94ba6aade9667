import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DelayedError, type Job } from 'bullmq';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { PG_POOL } from '@herald/db';
import type { DeliveryJob } from '@herald/queue';
import { DeliverExternalUseCase } from './deliver-external.usecase';
import { DeliverInappUseCase } from './deliver-inapp.usecase';
import { claimDelivery, releaseDelivery } from './delivery-claim';

/** Thrown for a provider's retryable answer (already recorded as an attempt): BullMQ retries with backoff. */
export class RetryableDeliveryError extends Error {}

/** One delivery job, whatever the channel: claim it, deliver it, and turn the outcome into the job's result. */
@Injectable()
export class DeliveryRunner {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  async run(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const claim = await claimDelivery(this.pool, job.data.deliveryId, this.config.deliveryLeaseSeconds);
    if (!claim.claimed) {
      if (claim.status === 'sending' && claim.leaseUntil && token) {
        // Another worker holds a live lease: look again when it runs out, in case that worker died.
        await job.moveToDelayed(claim.leaseUntil.getTime() + 100, token);
        throw new DelayedError();
      }
      return `skipped: delivery is ${claim.status}`;
    }
    const delivery = claim.delivery;
    try {
      if (delivery.channel === 'inapp')
        return await this.moduleRef.get(DeliverInappUseCase, { strict: false }).deliver(delivery);
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const { outcome, result } = await this.moduleRef
        .get(DeliverExternalUseCase, { strict: false })
        .deliver(delivery, lastAttempt);
      if (outcome === 'retry')
        throw new RetryableDeliveryError(`${result?.code ?? 'retryable'}: ${result?.message ?? ''}`);
      return outcome;
    } catch (err) {
      if (!(err instanceof RetryableDeliveryError))
        await releaseDelivery(this.pool, delivery.id).catch(() => undefined);
      throw err;
    }
  }
}
