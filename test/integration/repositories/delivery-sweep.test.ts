import { Pool } from 'pg';
import { newId } from '@herald/core';
import { DeliverySweepRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { insertDelivery, insertTenants } from './fixtures';

/** DeliverySweepRepository (system): the housekeeping sweep's lock and reads, across tenants. */
describe('DeliverySweepRepository (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let sweep: DeliverySweepRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('delivery_sweep_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    sweep = new DeliverySweepRepository(pool);
    await insertTenants(pool, tenant, other);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('runs the work under the sweep lock, and not while another sweeper holds it', async () => {
    expect(await sweep.underSweepLock(async () => 'swept')).toBe('swept');
    const inner = await sweep.underSweepLock(() => sweep.underSweepLock(async () => 'twice'));
    // the inner call runs on another connection: the outer transaction holds the lock
    expect(inner).toBeNull();
    expect(await sweep.underSweepLock(async () => 'again')).toBe('again');
  });

  it('finds deliveries in motion with no sign of life for long enough, oldest first, across tenants', async () => {
    const oldest = await insertDelivery(pool, { tenantId: other, status: 'pending', age: 900 });
    const queued = await insertDelivery(pool, { tenantId: tenant, status: 'queued', age: 600 });
    const expired = await insertDelivery(pool, {
      tenantId: tenant,
      status: 'sending',
      age: 300,
      leaseUntil: new Date(Date.now() - 200_000),
    });
    await insertDelivery(pool, { tenantId: tenant, status: 'queued', age: 10 });
    await insertDelivery(pool, { tenantId: tenant, status: 'sent', age: 900 });
    await insertDelivery(pool, {
      tenantId: tenant,
      status: 'sending',
      age: 900,
      leaseUntil: new Date(Date.now() + 60_000),
    });

    const stuck = await sweep.underSweepLock((client) => sweep.stuckDeliveries(120, 10, client));
    expect(stuck).toEqual([
      { id: oldest, tenantId: other, channel: 'email', status: 'pending' },
      { id: queued, tenantId: tenant, channel: 'email', status: 'queued' },
      { id: expired, tenantId: tenant, channel: 'email', status: 'sending' },
    ]);
    expect(await sweep.underSweepLock((client) => sweep.stuckDeliveries(120, 1, client))).toHaveLength(1);
  });

  it('finds accepted events not fanned out, whose outbox row is gone or published long ago', async () => {
    const event = async (
      tenantId: string,
      status: string,
      ageSeconds: number,
      outbox?: 'unpublished' | 'old' | 'fresh',
    ) => {
      const id = newId();
      await pool.query(
        `INSERT INTO events (id, tenant_id, type, recipients, status, updated_at)
         VALUES ($1, $2, 'greet', '[]', $3, now() - make_interval(secs => $4))`,
        [id, tenantId, status, ageSeconds],
      );
      if (outbox) {
        await pool.query(
          `INSERT INTO outbox (event_id, tenant_id, published_at) VALUES ($1, $2, CASE $3
             WHEN 'unpublished' THEN NULL WHEN 'old' THEN now() - interval '1 hour' ELSE now() END)`,
          [id, tenantId, outbox],
        );
      }
      return id;
    };
    const noOutbox = await event(other, 'accepted', 900);
    const publishedLongAgo = await event(tenant, 'accepted', 600, 'old');
    await event(tenant, 'accepted', 600, 'unpublished');
    await event(tenant, 'accepted', 600, 'fresh');
    await event(tenant, 'accepted', 10);
    await event(tenant, 'routed', 900);

    const stuck = await sweep.underSweepLock((client) => sweep.stuckEvents(120, 10, client));
    expect(stuck).toEqual([
      { eventId: noOutbox, tenantId: other },
      { eventId: publishedLongAgo, tenantId: tenant },
    ]);
  });
});
