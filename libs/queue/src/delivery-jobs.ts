import type { JobsOptions, Queue } from 'bullmq';
import { deterministicUuid, type Channel } from '@herald/core';
import type { DeliveryJob } from './jobs';
import { deliveryQueue } from './queue-names';

export interface DeliveryRef {
  id: string;
  tenantId: string;
  channel: Channel;
}

export type DeliveryQueues = (channel: Channel) => Queue<DeliveryJob>;

/**
 * How a channel queue orders its work, so one tenant's broadcast cannot hold back another tenant's
 * password reset (docs/batching.md, "Lanes"). BullMQ takes a queue's wait list before its prioritized jobs, and a
 * `lifo` job goes to the head of the wait list: `critical` (a rule marked critical) jumps what waits,
 * `normal` waits its turn, `bulk` (a topic broadcast's batches) runs whenever nothing else waits.
 */
export type Lane = 'critical' | 'normal' | 'bulk';
const LANES: Record<Lane, JobsOptions> = { critical: { lifo: true }, normal: {}, bulk: { priority: 1 } };

export interface BatchItem extends DeliveryRef {
  lane: Lane;
  /** the W3C traceparent of the fan-out span it came from */
  traceParent?: string;
}

/**
 * Hands deliveries to their channel queues in jobs of at most `size`, one tenant × channel × lane per job.
 * A job's id is derived from its delivery ids, so a fan-out that runs again adds nothing new; every
 * delivery's claim absorbs any job that does run twice.
 */
export async function enqueueDeliveryBatches(
  queues: DeliveryQueues,
  items: BatchItem[],
  size: number,
): Promise<number> {
  const groups = new Map<string, BatchItem[]>();
  for (const item of items) {
    const key = `${item.channel}\u0000${item.tenantId}\u0000${item.lane}`;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const byChannel = new Map<Channel, { name: string; data: DeliveryJob; opts: JobsOptions }[]>();
  for (const group of groups.values()) {
    const { channel, tenantId, lane } = group[0]!;
    for (let i = 0; i < group.length; i += size) {
      const chunk = group.slice(i, i + size);
      const deliveryIds = chunk.map((d) => d.id);
      const traced = chunk.filter((d) => d.traceParent);
      const job = {
        name: deliveryQueue(channel),
        data: {
          tenantId,
          deliveryIds,
          ...(traced.length ? { traceParents: Object.fromEntries(traced.map((d) => [d.id, d.traceParent!])) } : {}),
        },
        opts: { jobId: deliveryIds.length === 1 ? deliveryIds[0] : batchJobId(deliveryIds), ...LANES[lane] },
      };
      const jobs = byChannel.get(channel);
      if (jobs) jobs.push(job);
      else byChannel.set(channel, [job]);
    }
  }
  // The channels' queues are independent: their adds go out side by side, one round trip each.
  await Promise.all([...byChannel].map(([channel, jobs]) => queues(channel).addBulk(jobs)));
  return [...byChannel.values()].reduce((n, jobs) => n + jobs.length, 0);
}

function batchJobId(ids: string[]): string {
  return deterministicUuid('delivery-batch', ...[...ids].sort());
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
  opts: JobsOptions = {},
): Promise<'exists' | 'added' | 'replaced'> {
  const state = await queue.getJobState(jobId);
  if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return 'exists';
  if (state !== 'unknown') await queue.remove(jobId);
  // BullMQ's typings tie a job's name to the queue's data type; ours are plain strings.
  await (queue as Queue).add(name, data, { ...opts, jobId, delay: Math.max(0, delayMs) });
  return state === 'unknown' ? 'added' : 'replaced';
}

/**
 * A job of its own for one delivery (jobId = its id), due in `delayMs`: a retry, a deferral, a digest's
 * window, a sweep's or an operator's re-enqueue. It leaves whatever batch it came from.
 */
export function ensureDeliveryJob(
  queues: DeliveryQueues,
  delivery: DeliveryRef,
  delayMs = 0,
  lane: Lane = 'normal',
): Promise<'exists' | 'added' | 'replaced'> {
  return ensureJob(
    queues(delivery.channel),
    deliveryQueue(delivery.channel),
    delivery.id,
    { tenantId: delivery.tenantId, deliveryIds: [delivery.id] },
    delayMs,
    LANES[lane],
  );
}
