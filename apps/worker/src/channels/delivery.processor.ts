import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, OnApplicationBootstrap, type Type } from '@nestjs/common';
import type { Job } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { Channel } from '@herald/core';
import { deliveryQueue, type DeliveryJob } from '@herald/queue';
import { DeliveryRunner } from './delivery-runner';

/** The processor of one channel's queue: all of them run deliveries the same way. */
function deliveryProcessor(channel: Channel): Type<WorkerHost> {
  @Processor(deliveryQueue(channel))
  class DeliveryProcessor extends WorkerHost implements OnApplicationBootstrap {
    constructor(
      @Inject(DeliveryRunner) private readonly runner: DeliveryRunner,
      @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    ) {
      super();
    }

    onApplicationBootstrap(): void {
      this.worker.concurrency =
        channel === 'inapp' ? this.config.concurrency.inapp : this.config.channelConcurrency[channel];
      // The provider's throughput cap (PROVIDER_RATE_<CHANNEL>) is a BullMQ queue limiter, shared by
      // every worker of the queue. @Processor's options are fixed at import, before config exists;
      // BullMQ reads the limiter from the worker's options on every fetch.
      const rate = channel === 'inapp' ? undefined : this.config.providerRates[channel];
      if (rate) this.worker.opts.limiter = rate;
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
