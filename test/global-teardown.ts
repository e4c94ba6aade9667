import { Redis } from 'ioredis';
import { dropDatabaseFamily } from './helpers/databases';
import { takeTestRun } from './helpers/test-run';

/** Undoes test/global-setup.ts: the run's databases and Redis keys go, servers it started stop. */
export default async function globalTeardown(): Promise<void> {
  const run = takeTestRun();
  if (!run) return;
  try {
    await dropDatabaseFamily(run.adminUrl, run.database);
    await deleteKeys(run.services.redisUrl, run.queuePrefix);
  } finally {
    await run.services.stop();
  }
}

/**
 * BullMQ keys look like `{prefix}:queue:…` (a cluster hash tag), and tests may extend the prefix
 * (`{prefix-suite}:…`); other keys they write start with the prefix itself.
 */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        if (keys.length) await redis.unlink(...keys);
        cursor = next;
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
