import { Pool } from 'pg';
import { newId } from '@herald/core';
import { OutboxLagProbe } from '@herald/db';
import { HeraldMetrics } from '@herald/observability';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** OutboxLagProbe (system: the outbox is every tenant's): the age of the oldest unpublished outbox row. */
describe('OutboxLagProbe (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let probe: OutboxLagProbe;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('outbox_lag_probe', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    probe = new OutboxLagProbe(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  /** An outbox row written `age` seconds ago, published or not. */
  async function outboxRow(tenantId: string, age: number, published: boolean): Promise<void> {
    const id = newId();
    await pool.query(`INSERT INTO events (id, tenant_id, type, recipients) VALUES ($1, $2, 'greet', '[]')`, [
      id,
      tenantId,
    ]);
    await pool.query(
      `INSERT INTO outbox (event_id, tenant_id, created_at, published_at)
       VALUES ($1, $2, now() - make_interval(secs => $3), CASE WHEN $4 THEN now() END)`,
      [id, tenantId, age, published],
    );
  }
  const lag = async (metrics: HeraldMetrics) => (await metrics.outboxLag.get()).values[0]?.value;

  it('ageSeconds: 0 with nothing unpublished; else the oldest unpublished row, whichever tenant wrote it', async () => {
    expect(await probe.ageSeconds()).toBe(0);
    await outboxRow(tenant, 600, true);
    expect(await probe.ageSeconds()).toBe(0);
    await outboxRow(other, 30, false);
    await outboxRow(tenant, 5, false);
    const age = await probe.ageSeconds();
    expect(age).toBeGreaterThanOrEqual(30);
    expect(age).toBeLessThan(40);
  });

  it('collector: sets herald_outbox_lag_seconds on each scrape; keeps the last value when Postgres is away', async () => {
    const metrics = new HeraldMetrics();
    await probe.collector(metrics)();
    expect(await lag(metrics)).toBeGreaterThanOrEqual(30);
    await pool.query(`UPDATE outbox SET published_at = now()`);
    await probe.collector(metrics)();
    expect(await lag(metrics)).toBe(0);

    metrics.outboxLag.set(12);
    const away = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    await expect(new OutboxLagProbe(away).collector(metrics)()).rejects.toThrow();
    expect(await lag(metrics)).toBe(12);
    await away.end();
  });
});
