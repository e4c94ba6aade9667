import { Pool } from 'pg';
import { newId } from '@herald/core';
import { SendOutcomesRepository, recordFeedback } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** SendOutcomesRepository (system): the one transaction of a recording whose answers say something about addresses. */
describe('SendOutcomesRepository (system)', () => {
  let db: TestDatabase;
  let pool: Pool;
  let outcomes: SendOutcomesRepository;
  const tenant = newId();

  beforeAll(async () => {
    db = await createTestDatabase('send_outcomes_repo', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    outcomes = new SendOutcomesRepository(pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a')`, [tenant]);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  const signal = (outcome: string) => ({
    tenantId: tenant,
    source: 'smtp',
    kind: 'bounce',
    channel: 'email',
    address: 'ann@example.com',
    outcome,
    payload: { at: 'send' },
  });
  const recorded = async () =>
    (await pool.query<{ outcome: string }>(`SELECT outcome FROM feedback_events ORDER BY outcome`)).rows.map(
      (r) => r.outcome,
    );

  it("commits the work's writes together and returns its result", async () => {
    const result = await outcomes.transaction(async (client) => {
      await recordFeedback(client, signal('a'));
      await recordFeedback(client, signal('b'));
      // not visible outside the transaction until it commits
      expect(await recorded()).toEqual([]);
      return 'finished';
    });
    expect(result).toBe('finished');
    expect(await recorded()).toEqual(['a', 'b']);
  });

  it('rolls every write back when the work throws, and rethrows', async () => {
    await expect(
      outcomes.transaction(async (client) => {
        await recordFeedback(client, signal('c'));
        expect((await client.query(`SELECT 1 FROM feedback_events WHERE outcome = 'c'`)).rowCount).toBe(1);
        throw new Error('the suppression failed');
      }),
    ).rejects.toThrow('the suppression failed');
    expect(await recorded()).toEqual(['a', 'b']);
  });
});
