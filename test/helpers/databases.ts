import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { migrate } from '../../libs/db/src/migrate';
import { isAlive } from '../../libs/dev-services/src/processes';

/** Per-run databases are named herald_test_<timestamp>_<pid of the jest run>[_<label>]. */
const CLOSING_WAIT_MS = 2000;
const TEST_DATABASE = /^herald_test_\d+_(\d+)(_|$)/;

export function testRunDatabaseName(timestamp: number): string {
  return `herald_test_${timestamp}_${process.pid}`;
}

/** `url` with its database replaced. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function withAdmin<T>(adminUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export function createDatabase(adminUrl: string, name: string): Promise<void> {
  return withAdmin(adminUrl, async (client) => {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  });
}

/**
 * Drops `name` and the databases tests derived from it (`<name>_<label>`), closing their connections.
 * A pool's end() resolves before its connections' backends are gone; forced off then, a client still
 * closing gets an error its pool may not listen for (an unhandled error in the test). So the drop first
 * gives connections on their way out a moment to go, and forces only those that stay.
 */
export function dropDatabaseFamily(adminUrl: string, name: string): Promise<void> {
  return withAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $1 || '_')`,
      [name],
    );
    for (const { datname } of rows) {
      for (let wait = 0; wait < CLOSING_WAIT_MS; wait += 50) {
        const open = await client.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1',
          [datname],
        );
        if (open.rows[0].n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  });
}

/** Drops what test runs on this machine left behind when they were killed before their teardown. */
export function dropAbandonedTestDatabases(adminUrl: string): Promise<string[]> {
  return withAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE starts_with(datname, 'herald_test_')`,
    );
    const abandoned = rows
      .map((row) => row.datname)
      .filter((name) => {
        const pid = TEST_DATABASE.exec(name)?.[1];
        return pid !== undefined && !isAlive(Number(pid));
      });
    for (const name of abandoned) {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    }
    return abandoned;
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database on the test server for a test that needs its own (the per-run DATABASE_URL is
 * shared by every test in the run). Named after the run's database, so teardown drops leftovers.
 */
export async function createTestDatabase(label?: string, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const runUrl = process.env.DATABASE_URL;
  if (!adminUrl || !runUrl) throw new Error('TEST_PG_ADMIN_URL and DATABASE_URL are set by test/global-setup.ts');
  const runDatabase = new URL(runUrl).pathname.slice(1);
  const suffix = `${(label ?? 'db').toLowerCase().replace(/[^a-z0-9]+/g, '_')}_${randomBytes(3).toString('hex')}`;
  const name = `${runDatabase}_${suffix}`;
  // Longer names would be truncated by Postgres, and could then collide.
  if (Buffer.byteLength(name) > 63) throw new Error(`test database label too long: ${label}`);
  await createDatabase(adminUrl, name);
  const url = withDatabase(runUrl, name);
  if (options.migrate) await migrate(url);
  return { name, url, drop: () => dropDatabaseFamily(adminUrl, name) };
}
