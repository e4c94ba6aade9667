import type { HeraldConfig } from '@herald/config';
import type { DefaultJobOptions, Queue, QueueOptions } from 'bullmq';
import { Cluster } from 'ioredis';

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
    connection: config.redisCluster ? clusterConnection(config) : { url: config.redisUrl, maxRetriesPerRequest: null },
    prefix: queuePrefix(config),
    defaultJobOptions,
  };
}

// BullMQ cannot open a cluster from options, and does not close a connection it was handed: the
// ones made here are kept per config (one per app) and closed by closeClusterConnections.
const clusterConnections = new WeakMap<HeraldConfig, Set<Cluster>>();

function clusterConnection(config: HeraldConfig): Cluster {
  const cluster = new Cluster([config.redisUrl], { redisOptions: { maxRetriesPerRequest: null } });
  cluster.on('error', () => undefined);
  const made = clusterConnections.get(config) ?? new Set<Cluster>();
  made.add(cluster);
  clusterConnections.set(config, made);
  return cluster;
}

/** Closes the cluster connections handed to BullMQ for this config's queues and workers. */
export async function closeClusterConnections(config: HeraldConfig): Promise<void> {
  const made = clusterConnections.get(config);
  clusterConnections.delete(config);
  await Promise.all([...(made ?? [])].map((c) => c.quit().catch(() => c.disconnect())));
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
