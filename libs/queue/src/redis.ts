import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A single Redis or a Redis Cluster: both answer every command Herald sends. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: the config's `redisUrl`, as one server or as a seed node of a cluster. */
export interface RedisTarget {
  redisUrl: string;
  redisCluster: boolean;
}

/** The Redis pub/sub channel on which new in-app messages of one subscriber are announced. */
export function inboxChannel(queuePrefix: string, tenantId: string, subscriberId: string): string {
  return `${queuePrefix}:inbox:${tenantId}:${subscriberId}`;
}

/**
 * A plain client (pub/sub, small commands) that fails fast while Redis is down instead of
 * buffering commands in memory; it keeps reconnecting in the background.
 */
export function createRedis(target: RedisTarget, name: string, overrides: RedisOptions = {}): RedisClient {
  const options: RedisOptions = {
    connectionName: `herald:${name}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...overrides,
  };
  const redis = target.redisCluster
    ? new Cluster([target.redisUrl], {
        redisOptions: options,
        enableOfflineQueue: options.enableOfflineQueue,
        lazyConnect: options.lazyConnect,
        clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      })
    : new Redis(target.redisUrl, options);
  // Connection errors are expected during outages; callers see failures on their own commands.
  redis.on('error', () => undefined);
  return redis;
}
