import { Pool } from 'pg';
import { newId } from '@herald/core';
import { SendFeedbackRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** SendFeedbackRepository against Postgres: dead push tokens deactivated, failing webhook endpoints disabled. */
describe('SendFeedbackRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  const tenant = newId();
  const other = newId();
  const limits = { afterFailures: 3, afterSeconds: 60 };

  beforeAll(async () => {
    db = await createTestDatabase('repo_send_feedback', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  async function device(tenantId: string, token: string): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO devices (id, tenant_id, subscriber_id, token, platform) VALUES ($1, $2, 'ann', $3, 'fcm')`,
      [id, tenantId, token],
    );
    return id;
  }
  const deviceState = async (id: string) =>
    (
      await pool.query(
        `SELECT active, deactivated_reason AS reason, deactivated_at IS NOT NULL AS stamped FROM devices WHERE id = $1`,
        [id],
      )
    ).rows[0];

  async function endpoint(tenantId: string, failures = 0, firstFailureAgo?: number): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, secret, consecutive_failures, first_failure_at)
       VALUES ($1, $2, 'https://example.com/hook', 's', $3, now() - make_interval(secs => $4))`,
      [id, tenantId, failures, firstFailureAgo ?? null],
    );
    return id;
  }
  const endpointState = async (id: string) =>
    (
      await pool.query(
        `SELECT active, disabled_reason AS reason, consecutive_failures AS failures, first_failure_at AS "firstFailureAt"
         FROM webhook_endpoints WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it("deactivateDevices: each token within its own tenant; another tenant's same token stays active", async () => {
    const mine = await device(tenant, 'tok-1');
    const theirs = await device(other, 'tok-1');
    const kept = await device(tenant, 'tok-2');
    await SendFeedbackRepository.deactivateDevices(pool, [
      { tenantId: tenant, token: 'tok-1', reason: 'Unregistered' },
    ]);
    expect(await deviceState(mine)).toEqual({ active: false, reason: 'Unregistered', stamped: true });
    expect(await deviceState(theirs)).toEqual({ active: true, reason: null, stamped: false });
    expect(await deviceState(kept)).toEqual({ active: true, reason: null, stamped: false });
    // An already inactive device keeps the reason it went with.
    await SendFeedbackRepository.deactivateDevices(pool, [{ tenantId: tenant, token: 'tok-1', reason: 'again' }]);
    expect((await deviceState(mine)).reason).toBe('Unregistered');
    await SendFeedbackRepository.deactivateDevices(pool, []);
  });

  it('disableEndpoint: that endpoint only, with the reason', async () => {
    const gone = await endpoint(tenant);
    const kept = await endpoint(other);
    await SendFeedbackRepository.disableEndpoint(pool, gone, 'the endpoint answered 410');
    expect(await endpointState(gone)).toEqual(
      expect.objectContaining({ active: false, reason: 'the endpoint answered 410' }),
    );
    expect(await endpointState(kept)).toEqual(expect.objectContaining({ active: true, reason: null }));
  });

  it('countEndpointFailures: counts on, resets after a success, disables past both limits', async () => {
    const id = await endpoint(tenant);
    const bystander = await endpoint(other, 1, 10);
    await SendFeedbackRepository.countEndpointFailures(
      pool,
      id,
      { succeeded: false, failures: 2, lastCode: '500' },
      limits,
    );
    const counting = await endpointState(id);
    expect(counting).toEqual(expect.objectContaining({ active: true, failures: 2, firstFailureAt: expect.any(Date) }));
    // Over the count but not yet for long enough: still active.
    await SendFeedbackRepository.countEndpointFailures(
      pool,
      id,
      { succeeded: false, failures: 2, lastCode: '500' },
      limits,
    );
    expect(await endpointState(id)).toEqual(expect.objectContaining({ active: true, failures: 4 }));
    // A success resets the count and the first failure.
    await SendFeedbackRepository.countEndpointFailures(
      pool,
      id,
      { succeeded: true, failures: 0, lastCode: '' },
      limits,
    );
    expect(await endpointState(id)).toEqual(
      expect.objectContaining({ active: true, failures: 0, firstFailureAt: null }),
    );

    const failing = await endpoint(tenant, 2, 120);
    await SendFeedbackRepository.countEndpointFailures(
      pool,
      failing,
      { succeeded: false, failures: 1, lastCode: '503' },
      limits,
    );
    const disabled = await endpointState(failing);
    expect(disabled).toEqual(expect.objectContaining({ active: false, failures: 3 }));
    expect(disabled.reason).toMatch(/^failed 3 times in a row since .*, last: 503$/);
    expect(await endpointState(bystander)).toEqual(expect.objectContaining({ active: true, failures: 1 }));
  });
});
