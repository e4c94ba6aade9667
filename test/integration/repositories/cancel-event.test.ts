import { Pool } from 'pg';
import { newId } from '@herald/core';
import { EventsRepository, PrismaService } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { insertTenants } from './fixtures';

/** EventsRepository.cancel: only an event the fan-out has not touched can be cancelled, by its tenant. */
describe('EventsRepository.cancel', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let cancellations: EventsRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('cancel_event_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    cancellations = new EventsRepository(prisma, pool);
    await insertTenants(pool, tenant, other);
  }, 60_000);
  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
  });

  async function event(tenantId: string, status: string, withDelivery = false): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, status) VALUES ($1, $2, 'greet', '[]', $3)`,
      [id, tenantId, status],
    );
    if (withDelivery) {
      await pool.query(
        `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status)
         VALUES ($1, $2, $3, 'ann', 'inapp', 'queued')`,
        [newId(), tenantId, id],
      );
    }
    return id;
  }
  const statusOf = async (id: string) =>
    (await pool.query<{ status: string }>('SELECT status FROM events WHERE id = $1', [id])).rows[0].status;

  it('cancels an accepted event without deliveries, once', async () => {
    const id = await event(tenant, 'accepted');
    expect(await cancellations.cancel(tenant, id)).toBe(true);
    expect(await statusOf(id)).toBe('cancelled');
    expect(await cancellations.cancel(tenant, id)).toBe(false);
  });

  it('leaves a routed event, one being fanned out, and a missing one', async () => {
    const routed = await event(tenant, 'routed');
    const fanningOut = await event(tenant, 'accepted', true);
    expect(await cancellations.cancel(tenant, routed)).toBe(false);
    expect(await cancellations.cancel(tenant, fanningOut)).toBe(false);
    expect(await cancellations.cancel(tenant, newId())).toBe(false);
    expect(await statusOf(routed)).toBe('routed');
    expect(await statusOf(fanningOut)).toBe('accepted');
  });

  it("does not cancel another tenant's event", async () => {
    const others = await event(other, 'accepted');
    expect(await cancellations.cancel(tenant, others)).toBe(false);
    expect(await statusOf(others)).toBe('accepted');
  });
});
