import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap, type Type } from '@nestjs/common';
import type { Job } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Channel } from '@herald/core';
import { deliveryQueue, type DeliveryJob } from '@herald/queue';
import { DeliveryBatchRunner } from './delivery-batch';

/**
 * Batch jobs an external channel's worker runs at once: two, so the next batch's claim and reads overlap
 * the last sends of the one before. How many sends are in flight is CONCURRENCY_<CHANNEL>, shared by them.
 */
const EXTERNAL_BATCHES_IN_FLIGHT = 2;

/** The processor of one channel's queue: all of them run delivery batches the same way. */
function deliveryProcessor(channel: Channel): Type<WorkerHost> {
  @Processor(deliveryQueue(channel))
  class DeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
    constructor(
      private readonly runner: DeliveryBatchRunner,
      @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    ) {
      super();
    }

    onApplicationBootstrap(): void {
      // In-app: batches in flight (each one statement's work). External channels: see EXTERNAL_BATCHES_IN_FLIGHT;
      // a provider's throughput cap (PROVIDER_RATE_<CHANNEL>) is counted per send, by RateLimitGate.
      this.worker.concurrency = channel === 'inapp' ? this.config.concurrency.inapp : EXTERNAL_BATCHES_IN_FLIGHT;
    }

    process(job: Job<DeliveryJob>, token?: string): Promise<string> {
      return this.runner.run(job, token);
    }
  }
  Object.defineProperty(DeliveryProcessor, 'name', {
    value: `${channel[0].toUpperCase()}${channel.slice(1)}Processor`,
  });
  return DeliveryProcessor;
}

export const EmailProcessor = deliveryProcessor('email');
export const SmsProcessor = deliveryProcessor('sms');
export const PushProcessor = deliveryProcessor('push');
export const InappProcessor = deliveryProcessor('inapp');
export const WebhookProcessor = deliveryProcessor('webhook');
