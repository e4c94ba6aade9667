import { Pool } from 'pg';
import { deliveryId, newId } from '@herald/core';
import { DigestsRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** DigestsRepository against Postgres: gathering events per tenant, closing a digest and reading it. */
describe('DigestsRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let digests: DigestsRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('repo_digests', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    digests = new DigestsRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function event(tenantId: string, data: Record<string, unknown>, status = 'accepted'): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, data, status) VALUES ($1, $2, 'digest.t', '[]', $3, $4)`,
      [id, tenantId, data, status],
    );
    return id;
  }
  const item = (eventId: string, subscriberId = 'ann') => ({
    eventId,
    deliveryId: deliveryId(eventId, subscriberId, 'email'),
    subscriberId,
    channel: 'email' as const,
  });
  const digestOf = async (deliveryId: string) =>
    (
      await pool.query<{ id: string; tenantId: string; openKey: string | null; flushedAt: Date | null }>(
        `SELECT id, tenant_id AS "tenantId", open_key AS "openKey", flushed_at AS "flushedAt"
         FROM digests WHERE delivery_id = $1`,
        [deliveryId],
      )
    ).rows;

  it("eventData: the tenant's event's data; {} for another tenant's event or none", async () => {
    const id = await event(tenant, { n: 1 });
    expect(await digests.eventData(tenant, id)).toEqual({ n: 1 });
    expect(await digests.eventData(other, id)).toEqual({});
    expect(await digests.eventData(tenant, newId())).toEqual({});
  });

  it('join: the first event opens a digest with its delivery, the next joins it, a rerun stays put', async () => {
    const first = item(await event(tenant, { n: 1 }));
    const opened = await digests.join(tenant, first, 'k1', 60);
    expect(opened).toEqual({ deliveryId: first.deliveryId, windowEnd: expect.any(Date), open: true });
    expect(opened.windowEnd.getTime()).toBeGreaterThan(Date.now() + 50_000);
    const { rows: delivery } = await pool.query(
      `SELECT tenant_id AS "tenantId", event_id AS "eventId", status, not_before AS "notBefore" FROM deliveries WHERE id = $1`,
      [first.deliveryId],
    );
    expect(delivery).toEqual([
      { tenantId: tenant, eventId: first.eventId, status: 'queued', notBefore: opened.windowEnd },
    ]);

    const second = item(await event(tenant, { n: 2 }));
    expect(await digests.join(tenant, second, 'k1', 60)).toEqual(opened);
    expect(await digests.join(tenant, first, 'k1', 60)).toEqual(opened);
    const { rows: items } = await pool.query(`SELECT id FROM digest_items ORDER BY id`);
    expect(items.map((r) => r.id).sort()).toEqual(expect.arrayContaining([first.deliveryId, second.deliveryId].sort()));
    // Another key is another digest.
    const third = item(await event(tenant, { n: 3 }));
    expect((await digests.join(tenant, third, 'k2', 60)).deliveryId).toBe(third.deliveryId);
  });

  it("join: another tenant's subscriber of the same id and key gets a digest of its own", async () => {
    const mine = item(await event(tenant, { n: 1 }), 'bob');
    await digests.join(tenant, mine, 'shared', 60);
    const theirs = item(await event(other, { n: 1 }), 'bob');
    const joined = await digests.join(other, theirs, 'shared', 60);
    expect(joined.deliveryId).toBe(theirs.deliveryId);
    expect((await digestOf(theirs.deliveryId))[0].tenantId).toBe(other);
    // Nor is it told of the tenant's digest through an item id of the tenant's (ids are the tenant's own
    // events' delivery ids, so one cannot come up as another tenant's: it finds nothing, and cannot open one).
    await expect(digests.join(other, mine, 'elsewhere', 60)).rejects.toThrow(/digests_delivery_id_key/);
    expect(await digestOf(mine.deliveryId)).toEqual([expect.objectContaining({ tenantId: tenant, openKey: 'shared' })]);
  });

  it('close: the digest takes no more events (a new one opens); closing again keeps the first time', async () => {
    const first = item(await event(tenant, {}), 'cy');
    await digests.join(tenant, first, 'k', 60);
    const [{ id }] = await digestOf(first.deliveryId);
    await digests.close(id);
    const [closed] = await digestOf(first.deliveryId);
    expect(closed).toEqual(expect.objectContaining({ openKey: null, flushedAt: expect.any(Date) }));
    await digests.close(id);
    expect((await digestOf(first.deliveryId))[0].flushedAt).toEqual(closed.flushedAt);

    const later = item(await event(tenant, {}), 'cy');
    const joined = await digests.join(tenant, later, 'k', 60);
    expect(joined).toEqual(expect.objectContaining({ deliveryId: later.deliveryId, open: true }));
    // A rerun of the closed digest's event says so: no job needed any more.
    expect(await digests.join(tenant, first, 'k', 60)).toEqual(expect.objectContaining({ open: false }));
  });

  it("gathered: the digest's events' data oldest first, cancelled ones left out; none of another digest", async () => {
    const ids = [await event(tenant, { n: 1 }), await event(tenant, { n: 2 }), await event(tenant, { n: 3 })];
    for (const id of ids) await digests.join(tenant, item(id, 'dee'), 'g', 60);
    await pool.query(`UPDATE events SET status = 'cancelled' WHERE id = $1`, [ids[1]]);
    const elsewhere = item(await event(other, { n: 9 }), 'dee');
    await digests.join(other, elsewhere, 'g', 60);
    const [{ id }] = await digestOf(deliveryId(ids[0], 'dee', 'email'));
    expect(await digests.gathered(id)).toEqual([{ n: 1 }, { n: 3 }]);
    expect(await digests.gathered(newId())).toEqual([]);
  });
});
