import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PG_POOL } from './pg-pool';
import { inTransactionOn } from './transaction';

const TRY_LOCK = 'SELECT pg_try_advisory_lock($1) AS locked';
const UNLOCK = 'SELECT pg_advisory_unlock($1)';

/**
 * The housekeeping role's connection handling around retention's statements (retention.ts): one purger at a
 * time under an advisory lock, and the short transactions a pass runs on that one connection. A system
 * repository (docs/architecture.md, "Tenant-scoped and system repositories"): housekeeping spans tenants.
 */
@Injectable()
export class HousekeepingRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * System: runs `work` on one connection holding the session advisory lock `key`; null, without running it,
   * when another session holds the lock. A session lock: the statements of `work` each commit on their own.
   */
  async underLock<T>(key: number, work: (client: PoolClient) => Promise<T>): Promise<T | null> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const lock = await client.query<{ locked: boolean }>(TRY_LOCK, [key]);
      if (!lock.rows[0].locked) return null;
      try {
        return await work(client);
      } finally {
        await client.query(UNLOCK, [key]);
      }
    } catch (err) {
      broken = err as Error;
      throw err;
    } finally {
      // A connection that failed mid-work is dropped, and its session lock with it.
      client.release(broken);
    }
  }

  /** System: runs `work` in one transaction on the connection `underLock` holds; rolls back and rethrows on error. */
  transaction<T>(client: PoolClient, work: () => Promise<T>): Promise<T> {
    return inTransactionOn(client, work);
  }
}
