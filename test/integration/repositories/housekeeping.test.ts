import { Client, Pool } from 'pg';
import { newId } from '@herald/core';
import { HousekeepingRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { eventually } from '../../helpers/http';

const KEY = 0x7e57_0001;

/** HousekeepingRepository against Postgres: one holder of an advisory lock, and transactions on its connection. */
describe('HousekeepingRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let other: Client;
  let housekeeping: HousekeepingRepository;

  beforeAll(async () => {
    db = await createTestDatabase('repo_housekeeping', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    housekeeping = new HousekeepingRepository(pool);
    other = new Client({ connectionString: db.url });
    await other.connect();
  });
  afterAll(async () => {
    await other.end();
    await pool.end();
    await db.drop();
  });

  /** Whether another session could take the lock now (and gives it back at once). */
  const free = async (): Promise<boolean> => {
    const { rows } = await other.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [KEY]);
    if (rows[0].locked) await other.query('SELECT pg_advisory_unlock($1)', [KEY]);
    return rows[0].locked;
  };

  it('underLock: runs the work holding the lock, gives it back after', async () => {
    const held = await housekeeping.underLock(KEY, async (client) => {
      const { rows } = await client.query<{ n: number }>('SELECT 41 + 1 AS n');
      return { n: rows[0].n, freeMeanwhile: await free() };
    });
    expect(held).toEqual({ n: 42, freeMeanwhile: false });
    expect(await free()).toBe(true);
  });

  it('underLock: null, without running the work, while another session holds the lock', async () => {
    await other.query('SELECT pg_advisory_lock($1)', [KEY]);
    const work = jest.fn(async () => 'ran');
    try {
      expect(await housekeeping.underLock(KEY, work)).toBeNull();
      expect(work).not.toHaveBeenCalled();
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [KEY]);
    }
  });

  it('underLock: a failure is rethrown and the connection dropped, the lock with it', async () => {
    let pid = 0;
    await expect(
      housekeeping.underLock(KEY, async (client) => {
        pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
        await client.query('SELECT 1 / 0');
      }),
    ).rejects.toThrow(/division by zero/);
    expect(await free()).toBe(true);
    // Not handed back to the pool: its backend ends.
    await eventually(async () => {
      const { rowCount } = await other.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid]);
      return rowCount === 0 || undefined;
    }, 5_000);
  });

  it('transaction: commits what the work wrote, rolls it all back when it fails', async () => {
    const [kept, undone] = [newId(), newId()];
    const tenant = (id: string) => pool.query(`SELECT 1 FROM tenants WHERE id = $1`, [id]);
    await housekeeping.underLock(KEY, async (client) => {
      expect(
        await housekeeping.transaction(client, async () => {
          await client.query(`INSERT INTO tenants (id, name) VALUES ($1, 'kept')`, [kept]);
          return 'done';
        }),
      ).toBe('done');
      await expect(
        housekeeping.transaction(client, async () => {
          await client.query(`INSERT INTO tenants (id, name) VALUES ($1, 'undone')`, [undone]);
          throw new Error('redis is away');
        }),
      ).rejects.toThrow('redis is away');
      // The connection is usable again: no transaction left open on it.
      const { rows } = await client.query<{ open: boolean }>(`SELECT now() <> statement_timestamp() AS open`);
      expect(rows[0].open).toBe(false);
    });
    expect((await tenant(kept)).rowCount).toBe(1);
    expect((await tenant(undone)).rowCount).toBe(0);
  });
});
