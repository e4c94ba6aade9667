import { Redis } from 'ioredis';
import { Client } from 'pg';

/** The URL as it may be printed: the password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(not a valid URL)';
  }
}

/** `INFO server` of the Redis at `url` as key/value pairs; rejects when it does not answer. */
export async function redisServerInfo(url: string, timeoutMs = 3000): Promise<Record<string, string>> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // connect() only rejects with "Connection is closed."; the error event says why.
  let connectError: unknown;
  redis.on('error', (error) => (connectError = error));
  try {
    await redis.connect().catch((error: unknown) => {
      throw connectError ?? error;
    });
    const info = await redis.info('server');
    return Object.fromEntries(
      info
        .split(/\r?\n/)
        .filter((line) => line.includes(':'))
        .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
    );
  } finally {
    // On a connection that already ended, disconnect() would hold the process open for 2s.
    if (redis.status !== 'end') redis.disconnect();
  }
}

/** Runs `select version()` on the Postgres at `url`; rejects when it does not answer. */
export async function postgresVersion(url: string, timeoutMs = 3000): Promise<string> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string }>('select version()');
    return rows[0].version;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length) return errorMessage(error.errors[0]);
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
