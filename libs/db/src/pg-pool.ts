import { Pool, types } from 'pg';
import type { HeraldConfig } from '@herald/config';

export const PG_POOL = Symbol('PG_POOL');

// bigint columns (outbox and attempt ids, counts) as JS numbers: they stay far below 2^53.
types.setTypeParser(types.builtins.INT8, (value) => Number(value));

export function createPool(config: Pick<HeraldConfig, 'databaseUrl' | 'databasePoolSize'>): Pool {
  const pool = new Pool({
    connectionString: config.databaseUrl,
    max: config.databasePoolSize,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
  });
  // A client losing its server must not crash the process; the next query reconnects. The pool
  // listens on idle clients only: a checked-out client would emit an unhandled 'error' (its query
  // fails on its own) when Postgres restarts mid-transaction.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
