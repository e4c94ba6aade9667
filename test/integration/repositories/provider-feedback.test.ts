import { Pool } from 'pg';
import { newId } from '@herald/core';
import { ProviderFeedbackRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { insertDelivery, insertTenants } from './fixtures';

/**
 * ProviderFeedbackRepository: system look-ups of a provider's callback, which finds the tenant from what it
 * finds (a delivery by id or provider message id, the tenants sending from a number).
 */
describe('ProviderFeedbackRepository (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let feedback: ProviderFeedbackRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('provider_feedback_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    feedback = new ProviderFeedbackRepository(pool);
    await insertTenants(pool, tenant, other);
    await pool.query(
      `INSERT INTO subscribers (id, tenant_id, subscriber_id, email) VALUES
       (gen_random_uuid(), $1, 'ann', 'ann@example.com'), (gen_random_uuid(), $2, 'ann', 'other-ann@example.com')`,
      [tenant, other],
    );
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('finds an email delivery by id, with its recipient, whichever tenant it is', async () => {
    const mine = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
    const others = await insertDelivery(pool, { tenantId: other, status: 'sent' });
    const gone = await insertDelivery(pool, { tenantId: tenant, status: 'sent', subscriberId: 'gone' });
    const sms = await insertDelivery(pool, { tenantId: tenant, status: 'sent', channel: 'sms' });
    expect(await feedback.emailDeliveryById(mine)).toEqual({
      id: mine,
      tenantId: tenant,
      status: 'sent',
      recipient: 'ann@example.com',
    });
    expect(await feedback.emailDeliveryById(others)).toMatchObject({
      tenantId: other,
      recipient: 'other-ann@example.com',
    });
    expect(await feedback.emailDeliveryById(gone)).toMatchObject({ id: gone, recipient: null });
    expect(await feedback.emailDeliveryById(sms)).toBeNull();
  });

  it("finds an email delivery by the provider's message id, with or without <>", async () => {
    const id = await insertDelivery(pool, { tenantId: other, status: 'sent', providerMessageId: '<abc@ses>' });
    expect(await feedback.emailDeliveryByProviderMessageId(['abc@ses', '<abc@ses>'])).toMatchObject({
      id,
      tenantId: other,
    });
    expect(await feedback.emailDeliveryByProviderMessageId(['nothing'])).toBeNull();
  });

  it("locks the SMS delivery of a MessageSid for the caller's transaction", async () => {
    const id = await insertDelivery(pool, {
      tenantId: other,
      status: 'sent',
      channel: 'sms',
      providerMessageId: 'SM1',
      attempts: 2,
    });
    await insertDelivery(pool, { tenantId: tenant, status: 'sent', channel: 'email', providerMessageId: 'SM2' });
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      expect(await feedback.lockSmsDelivery('SM1', client)).toEqual({
        id,
        tenantId: other,
        status: 'sent',
        attempts: 2,
        attemptFloor: 0,
      });
      // held: another transaction cannot take the row meanwhile
      const locked = await pool
        .query('SELECT id FROM deliveries WHERE id = $1 FOR UPDATE NOWAIT', [id])
        .catch((e: Error) => e);
      expect(locked).toBeInstanceOf(Error);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await feedback.lockSmsDelivery('SM2')).toBeNull();
  });

  it('commits the work of a transaction together, or rolls it all back', async () => {
    const id = await insertDelivery(pool, {
      tenantId: tenant,
      status: 'sent',
      channel: 'sms',
      providerMessageId: 'SM9',
    });
    const mark = (client: Parameters<Parameters<ProviderFeedbackRepository['transaction']>[0]>[0]) =>
      client.query(`UPDATE deliveries SET last_error = 'marked' WHERE id = $1`, [id]);
    await expect(
      feedback.transaction(async (client) => {
        await mark(client);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    expect((await pool.query('SELECT last_error FROM deliveries WHERE id = $1', [id])).rows[0].last_error).toBeNull();
    expect(await feedback.transaction(async (client) => (await mark(client)).rowCount)).toBe(1);
    expect((await pool.query('SELECT last_error FROM deliveries WHERE id = $1', [id])).rows[0].last_error).toBe(
      'marked',
    );
  });
});
