import { Redis, type RedisOptions } from 'ioredis';

/** The Redis pub/sub channel on which new in-app messages of one subscriber are announced. */
export function inboxChannel(queuePrefix: string, tenantId: string, subscriberId: string): string {
  return `${queuePrefix}:inbox:${tenantId}:${subscriberId}`;
}

/**
 * A plain client (pub/sub, small commands) that fails fast while Redis is down instead of
 * buffering commands in memory; it keeps reconnecting in the background.
 */
export function createRedis(url: string, name: string, overrides: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectionName: `herald:${name}`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...overrides,
  });
  // Connection errors are expected during outages; callers see failures on their own commands.
  redis.on('error', () => undefined);
  return redis;
}
