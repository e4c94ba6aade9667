import type { ClientBase, Pool, PoolClient } from 'pg';

/** Runs `work` in one transaction on one pooled connection; rolls back and rethrows on error. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransactionOn(client, () => work(client));
  } finally {
    client.release();
  }
}

/** Runs `work` in one transaction on a connection the caller holds (and releases); rolls back and rethrows on error. */
export async function inTransactionOn<T>(client: Pick<ClientBase, 'query'>, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
