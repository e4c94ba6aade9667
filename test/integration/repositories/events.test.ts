import { Pool } from 'pg';
import { newId } from '@herald/core';
import { EventsRepository, PrismaService, type EventInsert } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

describe('EventsRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let events: EventsRepository;
  const tenant = newId();
  const other = newId();

  function insert(tenantId: string, fields: Partial<EventInsert> = {}): EventInsert {
    const now = new Date().toISOString();
    return {
      id: newId(),
      tenantId,
      type: 'greet',
      recipients: JSON.stringify([{ subscriberId: 'ann' }]),
      data: JSON.stringify({ n: 1 }),
      idempotencyKey: null,
      requestHash: null,
      sendAt: null,
      traceParent: null,
      occurredAt: now,
      receivedAt: now,
      correlationId: 'c-1',
      schemaVersion: null,
      senderKeyId: null,
      senderSourceId: null,
      cloudEvent: null,
      ...fields,
    };
  }

  /** A stored event (created `ageMs` ago) with a delivery per (subscriber, channel, status) and one attempt each. */
  async function stored(
    tenantId: string,
    fields: { type?: string; correlationId?: string; to?: string[]; ageMs?: number } = {},
    deliveries: [string, string, string][] = [],
  ): Promise<string> {
    const id = newId();
    const at = new Date(Date.now() - (fields.ageMs ?? 0));
    await pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, correlation_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        id,
        tenantId,
        fields.type ?? 'greet',
        JSON.stringify((fields.to ?? []).map((s) => ({ subscriberId: s }))),
        fields.correlationId ?? null,
        at,
      ],
    );
    for (const [subscriberId, channel, status] of deliveries) {
      const deliveryId = newId();
      await pool.query(
        `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status) VALUES ($1, $2, $3, $4, $5, $6)`,
        [deliveryId, tenantId, id, subscriberId, channel, status],
      );
      await pool.query(`INSERT INTO delivery_attempts (delivery_id, attempt, outcome) VALUES ($1, 1, 'ok')`, [
        deliveryId,
      ]);
    }
    return id;
  }

  beforeAll(async () => {
    db = await createTestDatabase('repo_events', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    events = new EventsRepository(prisma, pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'events'), ($2, 'other')`, [tenant, other]);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await pool.end();
    await db.drop();
  });

  describe('insertMany (system: one group commit of many tenants)', () => {
    it('writes the rows of every tenant with their outbox rows, and tells which keys were taken', async () => {
      const first = [
        insert(tenant, { idempotencyKey: 'k1', requestHash: 'h1' }),
        insert(other, { idempotencyKey: 'k1', requestHash: 'h1' }),
        insert(tenant),
      ];
      expect(await events.insertMany(first)).toEqual([true, true, true]);
      // The same key again under the same tenant is refused, row by row, in the order given.
      const again = [insert(tenant), insert(tenant, { idempotencyKey: 'k1', requestHash: 'h2' })];
      expect(await events.insertMany(again)).toEqual([true, false]);

      const { rows } = await pool.query(
        `SELECT e.id, e.tenant_id AS "tenantId", e.idempotency_key AS "key", e.data, o.tenant_id AS "outboxTenant"
         FROM events e LEFT JOIN outbox o ON o.event_id = e.id WHERE e.id = ANY($1)`,
        [[...first, ...again].map((r) => r.id)],
      );
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(row.outboxTenant).toBe(row.tenantId);
      expect(rows.find((r) => r.id === first[1]!.id)).toMatchObject({ tenantId: other, key: 'k1', data: { n: 1 } });
      expect(rows.find((r) => r.id === again[1]!.id)).toBeUndefined();
    });
  });

  describe('findByKeys', () => {
    it('finds each key under its own tenant only', async () => {
      const mine = insert(tenant, { idempotencyKey: 'fk', requestHash: 'mine' });
      const theirs = insert(other, { idempotencyKey: 'fk-other', requestHash: 'theirs' });
      await events.insertMany([mine, theirs]);
      const found = await events.findByKeys([
        { tenantId: tenant, idempotencyKey: 'fk' },
        // another tenant's key, asked for under this tenant: not found
        { tenantId: tenant, idempotencyKey: 'fk-other' },
        { tenantId: tenant, idempotencyKey: 'nope' },
      ]);
      expect(found).toEqual([{ id: mine.id, tenantId: tenant, idempotencyKey: 'fk', requestHash: 'mine' }]);
      expect(await events.findByKeys([])).toEqual([]);
    });
  });

  describe('existingTopics', () => {
    it('answers the keys of topics that exist, each under its own tenant only', async () => {
      await pool.query(`INSERT INTO topics (id, tenant_id, key) VALUES ($1, $2, 'news'), ($3, $4, 'sport')`, [
        newId(),
        tenant,
        newId(),
        other,
      ]);
      const found = await events.existingTopics([
        { tenantId: tenant, key: 'news' },
        { tenantId: tenant, key: 'sport' },
        { tenantId: other, key: 'sport' },
      ]);
      expect(found).toHaveLength(2);
      expect(found).toEqual(
        expect.arrayContaining([
          { tenantId: tenant, key: 'news' },
          { tenantId: other, key: 'sport' },
        ]),
      );
      expect(await events.existingTopics([])).toEqual([]);
    });
  });

  describe("a tenant's reads", () => {
    let a: string;
    let b: string;
    let c: string;
    let theirs: string;

    beforeAll(async () => {
      await pool.query('DELETE FROM outbox; DELETE FROM events');
      a = await stored(tenant, { type: 'greet', ageMs: 3000, to: ['ann'] }, [
        ['ann', 'email', 'sent'],
        ['ann', 'sms', 'failed'],
      ]);
      b = await stored(tenant, { type: 'bye', ageMs: 2000, correlationId: 'corr' }, [
        ['bob', 'email', 'sent'],
        ['cat', 'email', 'sent'],
        ['amy', 'push', 'queued'],
      ]);
      c = await stored(tenant, { type: 'greet', ageMs: 1000 });
      theirs = await stored(other, { type: 'greet', to: ['ann'] }, [['ann', 'email', 'sent']]);
    });

    it('find: the tenant’s event, not another tenant’s', async () => {
      expect(await events.find(tenant, a)).toMatchObject({ id: a, tenantId: tenant, type: 'greet' });
      expect(await events.find(tenant, theirs)).toBeNull();
      expect(await events.find(other, theirs)).toMatchObject({ id: theirs });
    });

    it('page: newest first, filtered, after the cursor, one more than the limit; only the tenant’s', async () => {
      const ids = async (...args: Parameters<EventsRepository['page']>) =>
        (await events.page(...args)).map((e) => e.id);
      expect(await ids(tenant, {}, undefined, 10)).toEqual([c, b, a]);
      expect(await ids(tenant, {}, undefined, 1)).toEqual([c, b]);
      const cRow = (await events.find(tenant, c))!;
      expect(await ids(tenant, {}, { at: cRow.createdAt, id: c }, 10)).toEqual([b, a]);
      expect(await ids(tenant, { type: 'greet' }, undefined, 10)).toEqual([c, a]);
      expect(await ids(tenant, { correlationId: 'corr' }, undefined, 10)).toEqual([b]);
      expect(await ids(tenant, { status: 'routed' }, undefined, 10)).toEqual([]);
      // Named in `to` (a), or reached through a delivery (b).
      expect(await ids(tenant, { subscriberId: 'ann' }, undefined, 10)).toEqual([a]);
      expect(await ids(tenant, { subscriberId: 'cat' }, undefined, 10)).toEqual([b]);
      // Bounds from the stored times (1 s apart), not from the clock now: a slow run must not move them.
      const aRow = (await events.find(tenant, a))!;
      expect(await ids(tenant, { since: new Date(cRow.createdAt.getTime() - 500) }, undefined, 10)).toEqual([c]);
      expect(await ids(tenant, { until: new Date(aRow.createdAt.getTime() + 500) }, undefined, 10)).toEqual([a]);
      expect(await ids(other, {}, undefined, 10)).toEqual([theirs]);
    });

    it('withDeliveries: the event with its first deliveries by subscriber and channel, and their attempts', async () => {
      const event = (await events.withDeliveries(tenant, b, 2))!;
      expect(event.id).toBe(b);
      expect(event.deliveries.map((d) => [d.subscriberId, d.channel])).toEqual([
        ['amy', 'push'],
        ['bob', 'email'],
      ]);
      expect(event.deliveries[0]!.attemptsLog).toEqual([expect.objectContaining({ attempt: 1, outcome: 'ok' })]);
      expect((await events.withDeliveries(tenant, a, 10))!.deliveries).toHaveLength(2);
      expect(await events.withDeliveries(tenant, theirs, 10)).toBeNull();
    });

    it('deliveryCountsByEvent: per event and status, only the tenant’s', async () => {
      const counts = await events.deliveryCountsByEvent(tenant, [a, b, c, theirs]);
      expect(counts).toHaveLength(4);
      expect(counts).toEqual(
        expect.arrayContaining([
          { eventId: a, status: 'sent', count: 1 },
          { eventId: a, status: 'failed', count: 1 },
          { eventId: b, status: 'sent', count: 2 },
          { eventId: b, status: 'queued', count: 1 },
        ]),
      );
      expect(await events.deliveryCountsByEvent(other, [theirs])).toEqual([
        { eventId: theirs, status: 'sent', count: 1 },
      ]);
    });

    it('deliveryCounts: per status, only the tenant’s', async () => {
      expect(await events.deliveryCounts(tenant, b)).toEqual({ sent: 2, queued: 1 });
      expect(await events.deliveryCounts(tenant, theirs)).toEqual({});
      expect(await events.deliveryCounts(other, theirs)).toEqual({ sent: 1 });
    });
  });
});
