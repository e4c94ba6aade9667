import type { PoolClient } from 'pg';
import { newId } from '@herald/core';
import { OutboxRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** OutboxRepository against Postgres: the relay's claim and mark, a system repository spanning tenants. */
describe('OutboxRepository (system)', () => {
  let db: RepositoryDb;
  let tenant: string;
  let other: string;
  let outbox: OutboxRepository;

  beforeAll(async () => {
    db = await repositoryDb('repo-outbox');
    outbox = new OutboxRepository(db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  /** An event and its outbox row; returns the row's id. */
  async function outboxRow(
    tenantId: string,
    event: { sendAt?: Date; traceParent?: string; correlationId?: string } = {},
  ): Promise<{ id: number; eventId: string }> {
    const eventId = newId();
    await db.pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, send_at, trace_parent, correlation_id)
       VALUES ($1, $2, 'greet', '[]', $3, $4, $5)`,
      [eventId, tenantId, event.sendAt ?? null, event.traceParent ?? null, event.correlationId ?? null],
    );
    const { rows } = await db.pool.query<{ id: string }>(
      'INSERT INTO outbox (event_id, tenant_id) VALUES ($1, $2) RETURNING id',
      [eventId, tenantId],
    );
    return { id: Number(rows[0].id), eventId };
  }
  async function inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK');
      throw err;
    } finally {
      client.release();
    }
  }
  const published = async (ids: number[]) =>
    (
      await db.pool.query<{ id: string; published: boolean }>(
        'SELECT id, published_at IS NOT NULL AS published FROM outbox WHERE id = ANY($1::bigint[]) ORDER BY id',
        [ids],
      )
    ).rows.map((r) => r.published);

  afterEach(() => db.pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL'));

  it('claim takes unpublished rows of every tenant, oldest first, up to the limit, with their events’ fields', async () => {
    const sendAt = new Date('2027-01-01T00:00:00Z');
    const a = await outboxRow(tenant, { sendAt, traceParent: '00-abc-def-01', correlationId: 'c-1' });
    const b = await outboxRow(other);
    const c = await outboxRow(tenant);
    const claimed = await inTransaction((client) => outbox.claim(client, 2));
    expect(claimed).toEqual([
      { id: a.id, eventId: a.eventId, tenantId: tenant, sendAt, traceParent: '00-abc-def-01', correlationId: 'c-1' },
      { id: b.id, eventId: b.eventId, tenantId: other, sendAt: null, traceParent: null, correlationId: null },
    ]);
    expect((await inTransaction((client) => outbox.claim(client, 10))).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
  });

  it('claim skips rows another relay holds until its transaction ends', async () => {
    const a = await outboxRow(tenant);
    const b = await outboxRow(other);
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      expect((await outbox.claim(holder, 1)).map((r) => r.id)).toEqual([a.id]);
      expect((await inTransaction((client) => outbox.claim(client, 10))).map((r) => r.id)).toEqual([b.id]);
      await holder.query('ROLLBACK');
    } finally {
      holder.release();
    }
    expect((await inTransaction((client) => outbox.claim(client, 10))).map((r) => r.id)).toEqual([a.id, b.id]);
  });

  it('markPublished marks the rows given, and a later claim no longer takes them', async () => {
    const a = await outboxRow(tenant);
    const b = await outboxRow(other);
    const c = await outboxRow(tenant);
    await inTransaction(async (client) => {
      const rows = await outbox.claim(client, 2);
      await outbox.markPublished(
        client,
        rows.map((r) => r.id),
      );
    });
    expect(await published([a.id, b.id, c.id])).toEqual([true, true, false]);
    expect((await inTransaction((client) => outbox.claim(client, 10))).map((r) => r.id)).toEqual([c.id]);
  });
});
