import { Pool } from 'pg';
import { newId } from '@herald/core';
import { DeadLettersRepository, PrismaService } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { insertDelivery, insertTenants } from './fixtures';

/** DeadLettersRepository: a tenant's dead letters as operators read them. */
describe('DeadLettersRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let deadLetters: DeadLettersRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('dead_letters_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    deadLetters = new DeadLettersRepository(prisma);
    await insertTenants(pool, tenant, other);
  }, 60_000);
  afterAll(async () => {
    await prisma?.$disconnect();
    await pool?.end();
    await db?.drop();
  });

  it("pages the tenant's dead letters, newest death first, filtered, with the event type and last attempt", async () => {
    const older = await insertDelivery(pool, {
      tenantId: tenant,
      status: 'dead',
      channel: 'sms',
      eventType: 'otp',
      age: 60,
    });
    const newer = await insertDelivery(pool, {
      tenantId: tenant,
      status: 'dead',
      channel: 'email',
      eventType: 'news',
      age: 30,
    });
    await insertDelivery(pool, { tenantId: tenant, status: 'failed', age: 10 });
    await insertDelivery(pool, { tenantId: other, status: 'dead', age: 5 });
    await pool.query(
      `INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, message) VALUES
       ($1, 1, 'retryable', 'twilio', 'first'), ($1, 2, 'retryable', 'twilio', 'second')`,
      [older],
    );

    const all = await deadLetters.page(tenant, {}, undefined, 10);
    expect(all.map((d) => d.id)).toEqual([newer, older]);
    expect(all[0].event.type).toBe('news');
    expect(all[1].attemptsLog.map((a) => a.message)).toEqual(['second']);

    // one more than the limit; after the first, the cursor's (updatedAt, id)
    expect((await deadLetters.page(tenant, {}, undefined, 1)).map((d) => d.id)).toEqual([newer, older]);
    const after = { at: all[0].updatedAt, id: all[0].id };
    expect((await deadLetters.page(tenant, {}, after, 10)).map((d) => d.id)).toEqual([older]);

    expect((await deadLetters.page(tenant, { channel: 'sms' }, undefined, 10)).map((d) => d.id)).toEqual([older]);
    expect((await deadLetters.page(tenant, { eventType: 'news' }, undefined, 10)).map((d) => d.id)).toEqual([newer]);
  });

  it("answers a delivery's status, and nothing for another tenant's", async () => {
    const sent = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
    const others = await insertDelivery(pool, { tenantId: other, status: 'dead' });
    expect(await deadLetters.statusOf(tenant, sent)).toBe('sent');
    expect(await deadLetters.statusOf(tenant, others)).toBeNull();
    expect(await deadLetters.statusOf(tenant, newId())).toBeNull();
  });
});
