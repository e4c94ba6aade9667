import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { DeliveryQueues } from './delivery-jobs';
import type { JobOf } from './jobs';
import { deliveryQueue, type QueueName } from './queue-names';
import { closeClusterConnections, queueOptions } from './queue-options';

/**
 * Producer-side queues for the api (dead-letter replays, metrics), opened on first use. Workers
 * get theirs from QueueModule; the api keeps to plain clients so that, in the all-in-one process,
 * BullMQ's Nest module (and its processors) is set up once.
 */
@Injectable()
export class QueueClients implements OnApplicationShutdown {
  private readonly logger = new Logger('queue');
  private readonly queues = new Map<QueueName, Queue>();

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  get<Q extends QueueName>(name: Q): Queue<JobOf<Q>> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, queueOptions(this.config));
      queue.on('error', (err: Error) => this.logger.warn(`queue ${name}: ${err.message}`));
      this.queues.set(name, queue);
    }
    return queue as Queue<JobOf<Q>>;
  }

  readonly deliveries: DeliveryQueues = (channel) => this.get(deliveryQueue(channel)) as ReturnType<DeliveryQueues>;

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => undefined)));
    this.queues.clear();
    await closeClusterConnections(this.config);
  }
}
