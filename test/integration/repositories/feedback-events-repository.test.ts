import { Pool } from 'pg';
import { newId } from '@herald/core';
import { FeedbackEventsRepository, inTransaction } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** FeedbackEventsRepository (system: a provider's signal may name no tenant): keeping a provider's signal once. */
describe('FeedbackEventsRepository (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let feedback: FeedbackEventsRepository;
  const tenant = newId();

  beforeAll(async () => {
    db = await createTestDatabase('feedback_events_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    feedback = new FeedbackEventsRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a')`, [tenant]);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const row = async (id: string) =>
    (
      await pool.query(
        `SELECT tenant_id AS "tenantId", source, kind, channel, address, provider_message_id AS "providerMessageId",
           delivery_id AS "deliveryId", suppression_id AS "suppressionId", outcome, payload, message_id AS "messageId"
         FROM feedback_events WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('record: keeps a signal with no tenant; a second copy of its message id records nothing', async () => {
    const note = {
      tenantId: null,
      source: 'ses',
      kind: 'SubscriptionConfirmation',
      channel: 'email',
      outcome: 'subscription pending: open SubscribeURL to confirm',
      payload: { Type: 'SubscriptionConfirmation' },
      messageId: 'sns-1',
    };
    const id = await feedback.record(note);
    expect(id).toEqual(expect.any(String));
    expect(await row(id!)).toEqual({
      tenantId: null,
      source: 'ses',
      kind: 'SubscriptionConfirmation',
      channel: 'email',
      address: null,
      providerMessageId: null,
      deliveryId: null,
      suppressionId: null,
      outcome: note.outcome,
      payload: { Type: 'SubscriptionConfirmation' },
      messageId: 'sns-1',
    });
    expect(await feedback.record({ ...note, outcome: 'again' })).toBeNull();
    // another source may carry the same message id
    expect(await feedback.record({ ...note, source: 'sendgrid' })).toEqual(expect.any(String));
    const { rows } = await pool.query(`SELECT outcome FROM feedback_events WHERE message_id = 'sns-1'`);
    expect(rows).toHaveLength(2);
  });

  it("record: a tenant's signal, in the caller's transaction when given its client", async () => {
    const signal = {
      tenantId: tenant,
      source: 'smtp',
      kind: 'bounce',
      channel: 'email',
      address: 'ann@example.com',
      providerMessageId: '<m1>',
      outcome: 'suppressed',
      payload: undefined,
    };
    const committed = await inTransaction(pool, async (client) => {
      const id = await feedback.record(signal, client);
      expect(await row(id!)).toBeUndefined(); // not committed yet
      return id;
    });
    expect(await row(committed!)).toMatchObject({ tenantId: tenant, address: 'ann@example.com', payload: {} });
    await expect(
      inTransaction(pool, async (client) => {
        await feedback.record({ ...signal, outcome: 'lost' }, client);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const { rows } = await pool.query(`SELECT 1 FROM feedback_events WHERE outcome = 'lost'`);
    expect(rows).toHaveLength(0);
  });
});
