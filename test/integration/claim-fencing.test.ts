import { Pool } from 'pg';
import { deliveryId, newId } from '@herald/core';
import { SandboxHub } from '@herald/sandbox';
import { DeliveriesRepository, type ClaimedDelivery } from '@herald/db';
import { isolatedEnv, startHerald, type IsolatedEnv } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant } from '../helpers/tenant';

/**
 * A claim's writes are fenced by its attempt number: a worker whose lease ran out and was taken over
 * cannot overwrite what its successor decided; a send that takes longer than the lease keeps it.
 */
describe('delivery claims: fencing and lease renewal', () => {
  let isolated: IsolatedEnv;
  let pool: Pool;
  let deliveries: DeliveriesRepository;
  const tenantId = newId();

  beforeAll(async () => {
    isolated = await isolatedEnv('claim-fencing');
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL });
    deliveries = new DeliveriesRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'fencing')`, [tenantId]);
  });
  afterAll(async () => {
    await pool.end();
    await isolated.drop();
  });

  async function queuedDelivery(): Promise<string> {
    const eventId = newId();
    await pool.query(`INSERT INTO events (id, tenant_id, type, recipients) VALUES ($1, $2, 'greet', '[]')`, [
      eventId,
      tenantId,
    ]);
    const id = deliveryId(eventId, 'ann', 'email');
    await pool.query(
      `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status)
       VALUES ($1, $2, $3, 'ann', 'email', 'queued')`,
      [id, tenantId, eventId],
    );
    return id;
  }

  /** The first claimant's lease runs out (moved into the past) and a second worker claims the delivery. */
  async function takenOver(id: string): Promise<{ stale: ClaimedDelivery; current: ClaimedDelivery }> {
    const [first] = (await deliveries.claim(tenantId, [id], 30)).claimed;
    if (!first) throw new Error('first claim failed');
    // A second claim under a live lease is told so, and takes nothing.
    expect((await deliveries.claim(tenantId, [id], 30)).leased).toEqual([{ id, leaseUntil: expect.any(Date) }]);
    await pool.query(`UPDATE deliveries SET lease_until = now() - interval '1 second' WHERE id = $1`, [id]);
    const [second] = (await deliveries.claim(tenantId, [id], 30)).claimed;
    if (!second) throw new Error('take-over failed');
    return { stale: first, current: second };
  }

  const state = async (id: string) =>
    (
      await pool.query(
        `SELECT status, attempts, provider_message_id AS "providerMessageId", last_error AS "lastError"
         FROM deliveries WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it("a stale claimant's finish, hold-back or release changes nothing; the current one's finish counts", async () => {
    const id = await queuedDelivery();
    const { stale, current } = await takenOver(id);
    expect([stale.attempt, current.attempt]).toEqual([1, 2]);

    const stillMine = await deliveries.finish([
      {
        delivery: stale,
        end: {
          status: 'failed',
          reason: 'stale worker',
          attempt: { outcome: 'permanent', provider: 'smtp', message: 'late answer' },
        },
      },
    ]);
    expect(stillMine).toEqual(new Set());
    await deliveries.holdBack([{ delivery: stale, hold: { status: 'rate_limited', reason: 'stale worker' } }]);
    await deliveries.release([stale]);
    expect(await deliveries.renewLeases([stale], 30)).toEqual(new Set());
    expect(await state(id)).toEqual({ status: 'sending', attempts: 2, providerMessageId: null, lastError: null });

    expect(await deliveries.renewLeases([current], 30)).toEqual(new Set([id]));
    await deliveries.finish([
      {
        delivery: current,
        end: { status: 'sent', providerMessageId: 'msg-2', attempt: { outcome: 'ok', provider: 'smtp' } },
      },
    ]);
    expect(await state(id)).toEqual({ status: 'sent', attempts: 2, providerMessageId: 'msg-2', lastError: null });
    // Both attempts happened and both are on record; only the current claim decided the status.
    const attempts = await pool.query(
      `SELECT attempt, outcome FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt`,
      [id],
    );
    expect(attempts.rows).toEqual([
      { attempt: 1, outcome: 'permanent' },
      { attempt: 2, outcome: 'ok' },
    ]);
  });

  it('a send slower than the lease renews it while it runs', async () => {
    const herald = await startHerald({
      env: { ...isolated.env, DELIVERY_LEASE_SECONDS: '1', RETRY_MAX_ATTEMPTS: '1' },
    });
    try {
      const tenant = await createTenant(herald.url);
      await tenant.admin('PUT', '/v1/rules/slow.mail', {
        channels: [{ channel: 'email', template: { subject: 'Hi', text: 'slow' } }],
      });
      // The SMTP sandbox takes the connection and then says nothing for 4 s: four leases' worth.
      const hub = herald.app.get(SandboxHub);
      await hub.smtp();
      await hub.setFaults({ timeoutRate: 1, timeoutMs: 4000 }, ['email']);
      const sent = await tenant.ingest('POST', '/v1/events', {
        type: 'slow.mail',
        to: { subscriberId: 'ann', email: 'ann@example.com' },
      });
      expect(sent.status).toBe(202);
      // Renewed: the lease reaches past a second after the claim (updated_at) while the send still runs.
      const renewed = await eventually(
        async () => {
          const { rows } = await pool.query(
            `SELECT d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id
             WHERE e.id = $1 AND d.status = 'sending' AND d.lease_until > d.updated_at + interval '1.5 seconds'`,
            [sent.body.id],
          );
          return rows[0];
        },
        10_000,
        'the lease to be renewed during the send',
      );
      expect(renewed.attempts).toBe(1);
      await hub.setFaults({ timeoutRate: 0 }, ['email']);
    } finally {
      await herald.close();
    }
  });
});
