import { Pool } from 'pg';
import { newId } from '@herald/core';
import { OutboxRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { eventually } from '../../helpers/http';

/**
 * OutboxRepository (system: the outbox is every tenant's): a drain's transaction, its claim and mark, and the
 * LISTEN connection that wakes the relay.
 */
describe('OutboxRepository (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let outbox: OutboxRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('outbox_listen_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    outbox = new OutboxRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** Commits an event and its outbox row; returns the event's id. */
  async function enqueue(tenantId: string, sendAt: Date | null = null): Promise<string> {
    const id = newId();
    await pool.query(
      `WITH e AS (INSERT INTO events (id, tenant_id, type, recipients, send_at, trace_parent, correlation_id)
         VALUES ($1, $2, 'greet', '[]', $3, $4, $5) RETURNING id, tenant_id)
       INSERT INTO outbox (event_id, tenant_id) SELECT id, tenant_id FROM e`,
      [id, tenantId, sendAt, `tp-${id}`, `corr-${id}`],
    );
    return id;
  }
  const unpublished = async () =>
    (
      await pool.query<{ eventId: string }>(
        `SELECT event_id AS "eventId" FROM outbox WHERE published_at IS NULL ORDER BY id`,
      )
    ).rows.map((r) => r.eventId);

  it("claims every tenant's unpublished rows oldest first, up to the limit, and marks them published", async () => {
    const sendAt = new Date(Date.now() + 60_000);
    const first = await enqueue(tenant, sendAt);
    const second = await enqueue(other);
    const third = await enqueue(tenant);
    const claimed = await outbox.transaction(async (client) => {
      const rows = await outbox.claim(client, 2);
      await outbox.markPublished(
        client,
        rows.map((r) => r.id),
      );
      return rows;
    });
    expect(claimed).toEqual([
      {
        id: expect.any(Number),
        eventId: first,
        tenantId: tenant,
        sendAt,
        traceParent: `tp-${first}`,
        correlationId: `corr-${first}`,
      },
      expect.objectContaining({ eventId: second, tenantId: other, sendAt: null }),
    ]);
    expect(await unpublished()).toEqual([third]);
    await outbox.transaction(async (client) => {
      const rows = await outbox.claim(client, 10);
      expect(rows.map((r) => r.eventId)).toEqual([third]);
      await outbox.markPublished(client, [rows[0]!.id]);
    });
    expect(await unpublished()).toEqual([]);
  });

  it("a claim skips the rows another drain's transaction holds; a failed drain rolls back and leaves its rows", async () => {
    const held = await enqueue(tenant);
    const free = await enqueue(other);
    await outbox.transaction(async (client) => {
      expect((await outbox.claim(client, 1)).map((r) => r.eventId)).toEqual([held]);
      // a second relay, at the same time, takes the row this one does not hold
      const beside = await outbox.transaction((other) => outbox.claim(other, 10));
      expect(beside.map((r) => r.eventId)).toEqual([free]);
    });
    await expect(
      outbox.transaction(async (client) => {
        const rows = await outbox.claim(client, 10);
        await outbox.markPublished(
          client,
          rows.map((r) => r.id),
        );
        throw new Error('the queue is away');
      }),
    ).rejects.toThrow('the queue is away');
    expect(await unpublished()).toEqual([held, free]);
    await outbox.transaction(async (client) =>
      outbox.markPublished(
        client,
        (await outbox.claim(client, 10)).map((r) => r.id),
      ),
    );
  });

  it('listen: a committed outbox row notifies; a lost connection calls onLost once; close does not', async () => {
    let notified = 0;
    let lost = 0;
    const listener = outbox.listen(
      () => notified++,
      () => lost++,
    );
    // LISTEN is in place once the connection shows up in pg_stat_activity with it as its last statement
    await eventually(
      async () => {
        const { rows } = await pool.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN herald_outbox'`,
        );
        return rows.length ? true : undefined;
      },
      5000,
      'the LISTEN connection',
    );
    await enqueue(tenant);
    await eventually(async () => (notified === 1 ? true : undefined), 5000, 'a notification');
    expect(lost).toBe(0);

    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND query = 'LISTEN herald_outbox'`,
    );
    await eventually(async () => (lost === 1 ? true : undefined), 5000, 'onLost');
    await enqueue(tenant);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect({ notified, lost }).toEqual({ notified: 1, lost: 1 });
    await listener.close();

    const closed = outbox.listen(
      () => notified++,
      () => lost++,
    );
    await closed.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(lost).toBe(1);
  });

  it('listen: a connection that cannot be opened calls onLost', async () => {
    const nowhere = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    let lost = 0;
    const listener = new OutboxRepository(nowhere).listen(
      () => undefined,
      () => lost++,
    );
    await eventually(async () => (lost === 1 ? true : undefined), 5000, 'onLost');
    await listener.close();
    await nowhere.end();
  });
});
