import type { HeraldConfig } from '@herald/config';
import type { DefaultJobOptions, Queue, QueueOptions } from 'bullmq';

/** Finished jobs are removed: Postgres holds the history, Redis only what is in motion. */
export const defaultJobOptions: DefaultJobOptions = {
  removeOnComplete: true,
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
};

/**
 * One connection setup for queues and their workers (@nestjs/bullmq gives a processor its
 * queue's options): `maxRetriesPerRequest: null`, as BullMQ requires for blocking workers.
 */
export function queueOptions(config: HeraldConfig): QueueOptions {
  return {
    connection: { url: config.redisUrl, maxRetriesPerRequest: null },
    prefix: queuePrefix(config),
    defaultJobOptions,
  };
}

/** `{prefix}`: the hash tag keeps all of Herald's queue keys in one Redis Cluster slot. */
export function queuePrefix(config: HeraldConfig): string {
  return `{${config.queuePrefix}}`;
}

/**
 * Producers fail fast while Redis is unreachable, rather than buffering commands in memory
 * until it returns: the caller keeps its work in Postgres and tries again later.
 */
export async function assertQueueReachable(queue: Queue, timeoutMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const client = await Promise.race([
    queue.getBackend().client,
    new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs))),
  ]).finally(() => clearTimeout(timer));
  const status = (client as { status?: string } | undefined)?.status ?? 'connecting';
  if (status !== 'ready') throw new Error(`Redis is not reachable (connection ${status})`);
}
