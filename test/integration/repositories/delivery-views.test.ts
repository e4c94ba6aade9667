import { Pool } from 'pg';
import { newId } from '@herald/core';
import { DeliveryViewsRepository, PrismaService } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** DeliveryViewsRepository against Postgres: the api's reads of deliveries, their attempts and feedback. */
describe('DeliveryViewsRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let views: DeliveryViewsRepository;
  const tenant = newId();
  const other = newId();
  let eventId: string;
  /** the tenant's deliveries, oldest first */
  const ids: string[] = [];
  let theirs: string;

  beforeAll(async () => {
    db = await createTestDatabase('repo_delivery_views', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    views = new DeliveryViewsRepository(prisma);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
    eventId = await event(tenant);
    for (const [i, [channel, status, subscriber]] of (
      [
        ['email', 'sent', 'ann'],
        ['sms', 'failed', 'ann'],
        ['email', 'queued', 'bob'],
      ] as const
    ).entries()) {
      ids.push(await delivery(tenant, eventId, channel, status, subscriber, i));
    }
    theirs = await delivery(other, await event(other), 'email', 'sent', 'ann', 0);
    // Attempts written out of order come back oldest first.
    await pool.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, code, message)
       VALUES ($1, 2, 'ok', 'twilio', NULL, NULL), ($1, 1, 'retryable', 'twilio', '503', 'busy')`,
      [ids[1]],
    );
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await pool.end();
    await db.drop();
  });

  async function event(tenantId: string): Promise<string> {
    const id = newId();
    await pool.query(`INSERT INTO events (id, tenant_id, type, recipients) VALUES ($1, $2, 'order.shipped', '[]')`, [
      id,
      tenantId,
    ]);
    return id;
  }
  async function delivery(
    tenantId: string,
    eventId: string,
    channel: string,
    status: string,
    subscriberId: string,
    nth: number,
  ): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, now() - make_interval(mins => 10 - $7))`,
      [id, tenantId, eventId, subscriberId, channel, status, nth],
    );
    return id;
  }

  it("page: the tenant's deliveries newest first with their attempts, filtered, one more than the limit", async () => {
    const all = await views.page(tenant, {}, undefined, 50);
    expect(all.map((d) => d.id)).toEqual([...ids].reverse());
    expect(all.find((d) => d.id === ids[1])!.attemptsLog.map((a) => [a.attempt, a.outcome, a.code])).toEqual([
      [1, 'retryable', '503'],
      [2, 'ok', null],
    ]);
    expect((await views.page(tenant, { channel: 'email' }, undefined, 50)).map((d) => d.id)).toEqual([ids[2], ids[0]]);
    expect((await views.page(tenant, { status: 'failed' }, undefined, 50)).map((d) => d.id)).toEqual([ids[1]]);
    expect((await views.page(tenant, { subscriberId: 'bob' }, undefined, 50)).map((d) => d.id)).toEqual([ids[2]]);
    expect((await views.page(tenant, { eventId }, undefined, 50)).length).toBe(3);
    expect((await views.page(tenant, { eventId: newId() }, undefined, 50)).length).toBe(0);

    const first = await views.page(tenant, {}, undefined, 1);
    expect(first.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    const after = { at: first[0].createdAt, id: first[0].id };
    expect((await views.page(tenant, {}, after, 1)).map((d) => d.id)).toEqual([ids[1], ids[0]]);
  });

  it("page: none of another tenant's deliveries", async () => {
    expect((await views.page(other, {}, undefined, 50)).map((d) => d.id)).toEqual([theirs]);
    expect((await views.page(tenant, {}, undefined, 50)).map((d) => d.id)).not.toContain(theirs);
  });

  it('detail: the delivery, its attempts, its event type, and feedback oldest first with what it suppressed', async () => {
    const suppressionId = newId();
    await pool.query(
      `INSERT INTO suppressions (id, tenant_id, channel, address, reason, source)
       VALUES ($1, $2, 'sms', '+15550001111', 'invalid_address', 'twilio')`,
      [suppressionId, tenant],
    );
    const [noted, suppressed] = [newId(), newId()];
    await pool.query(
      `INSERT INTO feedback_events (id, tenant_id, source, kind, channel, address, delivery_id, suppression_id, outcome, payload, created_at)
       VALUES ($1, $3, 'twilio', 'receipt', 'sms', NULL, $4, NULL, 'noted', '{"n":1}', now() - interval '1 minute'),
              ($2, $3, 'twilio', 'invalid_address', 'sms', '+15550001111', $4, $5, 'suppressed', '{"n":2}', now())`,
      [noted, suppressed, tenant, ids[1], suppressionId],
    );
    const detail = await views.detail(tenant, ids[1]);
    expect(detail).toEqual(
      expect.objectContaining({
        id: ids[1],
        eventId,
        channel: 'sms',
        status: 'failed',
        event: { type: 'order.shipped' },
      }),
    );
    expect(detail!.attemptsLog.map((a) => a.attempt)).toEqual([1, 2]);
    expect(detail!.feedback.map((f) => [f.id, f.outcome, f.payload, f.suppression?.id])).toEqual([
      [noted, 'noted', { n: 1 }, undefined],
      [suppressed, 'suppressed', { n: 2 }, suppressionId],
    ]);
    expect((await views.detail(tenant, ids[0]))!.feedback).toEqual([]);
  });

  it("detail: null for another tenant's delivery, an unknown id or no id; another tenant's feedback not shown", async () => {
    expect(await views.detail(tenant, theirs)).toBeNull();
    expect(await views.detail(tenant, newId())).toBeNull();
    expect(await views.detail(tenant, 'not-an-id')).toBeNull();
    // A signal filed under another tenant (and its suppression) does not show on the tenant's delivery.
    const foreignSuppression = newId();
    await pool.query(
      `INSERT INTO suppressions (id, tenant_id, channel, address, reason, source)
       VALUES ($1, $2, 'email', 'x@example.com', 'hard_bounce', 'smtp')`,
      [foreignSuppression, other],
    );
    await pool.query(
      `INSERT INTO feedback_events (id, tenant_id, source, kind, channel, delivery_id, suppression_id, outcome, payload)
       VALUES ($1, $2, 'smtp', 'bounce', 'email', $3, $4, 'suppressed', '{}')`,
      [newId(), other, ids[0], foreignSuppression],
    );
    expect((await views.detail(tenant, ids[0]))!.feedback).toEqual([]);
  });
});
