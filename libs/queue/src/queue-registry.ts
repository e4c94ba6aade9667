import type { Queue } from 'bullmq';
import type { Channel } from '@herald/core';
import type { DeliveryJob } from './jobs';
import { deliveryQueue, type QueueName } from './queue-names';

/**
 * The queues an application registered (QueueModule.forQueues), by name. Injected where a queue is
 * chosen at run time (a delivery's channel), instead of a look-up in Nest's container.
 */
export class QueueRegistry {
  private readonly byName: ReadonlyMap<QueueName, Queue>;

  constructor(names: readonly QueueName[], queues: readonly Queue[]) {
    this.byName = new Map(names.map((name, i) => [name, queues[i]!]));
  }

  /** A queue this application registered; asking for another is a wiring mistake, said at once. */
  get(name: QueueName): Queue {
    const queue = this.byName.get(name);
    if (!queue) throw new Error(`queue ${name} is not registered in this process (QueueModule.forQueues)`);
    return queue;
  }

  all(): Queue[] {
    return [...this.byName.values()];
  }

  /** Each channel's delivery queue. */
  readonly deliveryQueues = (channel: Channel): Queue<DeliveryJob> =>
    this.get(deliveryQueue(channel)) as Queue<DeliveryJob>;
}
