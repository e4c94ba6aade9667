import { Pool } from 'pg';
import { newId } from '@herald/core';
import { StatsRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

describe('StatsRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let stats: StatsRepository;
  const tenant = newId();
  const other = newId();

  /** An event of the tenant with one delivery per (channel, status, age in seconds), and an outbox row. */
  async function seed(
    tenantId: string,
    deliveries: [string, string, number][],
    outbox: { ageSeconds: number; published: boolean }[],
  ) {
    const eventId = newId();
    await pool.query(`INSERT INTO events (id, tenant_id, type, recipients) VALUES ($1, $2, 'greet', '[]')`, [
      eventId,
      tenantId,
    ]);
    for (const [i, [channel, status, age]] of deliveries.entries()) {
      await pool.query(
        `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() - make_interval(secs => $7))`,
        [newId(), tenantId, eventId, `s${i}`, channel, status, age],
      );
    }
    for (const { ageSeconds, published } of outbox) {
      const outboxEvent = newId();
      await pool.query(`INSERT INTO events (id, tenant_id, type, recipients) VALUES ($1, $2, 'greet', '[]')`, [
        outboxEvent,
        tenantId,
      ]);
      await pool.query(
        `INSERT INTO outbox (event_id, tenant_id, created_at, published_at)
         VALUES ($1, $2, now() - make_interval(secs => $3), CASE WHEN $4 THEN now() END)`,
        [outboxEvent, tenantId, ageSeconds, published],
      );
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase('repo_stats', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    stats = new StatsRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'stats'), ($2, 'other')`, [tenant, other]);
    await seed(
      tenant,
      [
        ['email', 'sent', 10],
        ['email', 'sent', 20],
        ['email', 'failed', 30],
        ['sms', 'queued', 40],
        ['email', 'sent', 7200], // older than an hour
      ],
      [
        { ageSeconds: 90, published: false },
        { ageSeconds: 30, published: false },
        { ageSeconds: 600, published: true },
      ],
    );
    await seed(
      other,
      [
        ['email', 'sent', 10],
        ['push', 'sent', 10],
      ],
      [{ ageSeconds: 5000, published: false }],
    );
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it("counts the tenant's deliveries of the window by channel and status, not another tenant's", async () => {
    expect(await stats.deliveriesByChannelAndStatus(tenant, 3600)).toEqual([
      { channel: 'email', status: 'failed', count: 1 },
      { channel: 'email', status: 'sent', count: 2 },
      { channel: 'sms', status: 'queued', count: 1 },
    ]);
    expect(await stats.deliveriesByChannelAndStatus(tenant, 86_400)).toContainEqual({
      channel: 'email',
      status: 'sent',
      count: 3,
    });
    expect(await stats.deliveriesByChannelAndStatus(other, 3600)).toEqual([
      { channel: 'email', status: 'sent', count: 1 },
      { channel: 'push', status: 'sent', count: 1 },
    ]);
  });

  it("measures the tenant's unpublished outbox rows, not another tenant's", async () => {
    const lag = await stats.outboxLag(tenant);
    expect(lag.pending).toBe(2);
    expect(lag.lagSeconds).toBeGreaterThanOrEqual(90);
    expect(lag.lagSeconds).toBeLessThan(600);
    expect((await stats.outboxLag(other)).pending).toBe(1);
    expect(await stats.outboxLag(newId())).toEqual({ pending: 0, lagSeconds: 0 });
  });
});
