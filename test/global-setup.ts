import path from 'node:path';
import { migrate } from '../libs/db/src/migrate';
import { ensureServices } from '../libs/dev-services/src';
import { redactUrl } from '../libs/dev-services/src/probes';
import { createDatabase, dropAbandonedTestDatabases, testRunDatabaseName, withDatabase } from './helpers/databases';
import { rememberTestRun } from './helpers/test-run';

/**
 * Redis and Postgres for the whole run: REDIS_URL / DATABASE_URL when set, otherwise local servers
 * kept in .herald/test. Every run gets its own migrated database and Redis key prefix, so runs and
 * leftovers never meet; the tests read them from DATABASE_URL, REDIS_URL and HERALD_QUEUE_PREFIX.
 */
export default async function globalSetup(): Promise<void> {
  const startedAt = Date.now();
  const notes: string[] = [];
  const given = { redis: process.env.REDIS_URL || undefined, postgres: process.env.DATABASE_URL || undefined };
  const services = await ensureServices({
    dataDir: path.join(__dirname, '..', '.herald', 'test'),
    redisUrl: given.redis,
    databaseUrl: given.postgres,
    database: 'postgres',
    log: (line) => notes.push(line),
  });
  try {
    const adminUrl = withDatabase(services.databaseUrl, 'postgres');
    if (!given.postgres) {
      const dropped = await dropAbandonedTestDatabases(adminUrl);
      if (dropped.length) notes.push(`dropped ${dropped.length} database(s) of killed runs`);
    }
    const timestamp = Date.now();
    const database = testRunDatabaseName(timestamp);
    await createDatabase(adminUrl, database);
    const databaseUrl = withDatabase(services.databaseUrl, database);
    await migrate(databaseUrl);
    const queuePrefix = `htest${timestamp}`;

    process.env.DATABASE_URL = databaseUrl;
    process.env.REDIS_URL = services.redisUrl;
    process.env.HERALD_QUEUE_PREFIX = queuePrefix;
    process.env.TEST_PG_ADMIN_URL = adminUrl;
    rememberTestRun({ services, adminUrl, database, queuePrefix });

    if (given.redis) notes.unshift(`redis from REDIS_URL ${redactUrl(given.redis)}`);
    if (given.postgres) notes.unshift(`postgres from DATABASE_URL ${redactUrl(given.postgres)}`);
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    console.log(
      `\ntest services (${seconds}s): ${notes.join('; ')}; database ${database}, queue prefix ${queuePrefix}`,
    );
  } catch (error) {
    await services.stop();
    throw error;
  }
}
