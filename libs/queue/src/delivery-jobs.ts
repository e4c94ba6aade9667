import { getQueueToken } from '@nestjs/bullmq';
import type { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import type { Channel } from '@herald/core';
import type { DeliveryJob } from './jobs';
import { deliveryQueue } from './queue-names';

export interface DeliveryRef {
  id: string;
  tenantId: string;
  channel: Channel;
}

export type DeliveryQueues = (channel: Channel) => Queue<DeliveryJob>;

/** The channel queues registered in a Nest application (QueueModule.forQueues). */
export function deliveryQueuesOf(moduleRef: ModuleRef): DeliveryQueues {
  return (channel) => moduleRef.get(getQueueToken(deliveryQueue(channel)), { strict: false });
}

/**
 * One job per delivery on its channel's queue. The jobId is the delivery id, so adding a delivery
 * whose job is still waiting, delayed or active is a no-op: nothing is ever doubled by re-adding.
 * `traceParent` (the fan-out's span) makes each delivery's span a child of it.
 */
export async function enqueueDeliveries(
  queues: DeliveryQueues,
  deliveries: DeliveryRef[],
  traceParent?: string,
): Promise<void> {
  const byChannel = new Map<Channel, DeliveryRef[]>();
  for (const d of deliveries) {
    const refs = byChannel.get(d.channel);
    if (refs) refs.push(d);
    else byChannel.set(d.channel, [d]);
  }
  // The channels' queues are independent: their adds go out side by side.
  await Promise.all(
    [...byChannel].map(([channel, refs]) =>
      queues(channel).addBulk(
        refs.map((d) => ({
          name: deliveryQueue(channel),
          data: { deliveryId: d.id, tenantId: d.tenantId, ...(traceParent ? { traceParent } : {}) },
          opts: { jobId: d.id },
        })),
      ),
    ),
  );
}

/**
 * Makes sure a job with this id is waiting, delayed or active. A finished job with the same id
 * (completed, or failed after infrastructure errors ran out its attempts) would make a plain add
 * a no-op, so it is replaced. Returns what was done.
 */
export async function ensureJob<T>(
  queue: Queue<T>,
  name: string,
  jobId: string,
  data: T,
  delayMs = 0,
): Promise<'exists' | 'added' | 'replaced'> {
  const state = await queue.getJobState(jobId);
  if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return 'exists';
  if (state !== 'unknown') await queue.remove(jobId);
  // BullMQ's typings tie a job's name to the queue's data type; ours are plain strings.
  await (queue as Queue).add(name, data, { jobId, delay: Math.max(0, delayMs) });
  return state === 'unknown' ? 'added' : 'replaced';
}

/** ensureJob for a delivery on its channel's queue. */
export function ensureDeliveryJob(
  queues: DeliveryQueues,
  delivery: DeliveryRef,
  delayMs = 0,
): Promise<'exists' | 'added' | 'replaced'> {
  return ensureJob(
    queues(delivery.channel),
    deliveryQueue(delivery.channel),
    delivery.id,
    { deliveryId: delivery.id, tenantId: delivery.tenantId },
    delayMs,
  );
}
