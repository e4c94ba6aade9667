import { newId } from '@herald/core';
import { SmsSendersRepository, inTransaction } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

describe('SmsSendersRepository', () => {
  let db: RepositoryDb;
  let senders: SmsSendersRepository;

  beforeAll(async () => {
    db = await repositoryDb('repo-sms-senders');
    senders = new SmsSendersRepository(db.pool);
  });
  afterAll(() => db.close());

  const smsFrom = async (id: string) =>
    (await db.pool.query<{ smsFrom: string | null }>('SELECT sms_from AS "smsFrom" FROM tenants WHERE id = $1', [id]))
      .rows[0]!.smsFrom;
  let n = 0;
  const number = () => `+1415555${String(1000 + ++n)}`;

  it('get gives the tenant with its number, or null', async () => {
    const id = await db.tenant('acme');
    expect(await senders.get(id)).toEqual({ id, name: 'acme', smsFrom: null });
    const from = number();
    await senders.assign(id, from);
    expect(await senders.get(id)).toEqual({ id, name: 'acme', smsFrom: from });
    expect(await senders.get(newId())).toBeNull();
  });

  it('assign gives the number to that tenant only; taken while another tenant holds it', async () => {
    const id = await db.tenant();
    const other = await db.tenant();
    const from = number();
    expect(await senders.assign(id, from)).toBe('assigned');
    expect(await smsFrom(id)).toBe(from);
    expect(await smsFrom(other)).toBeNull();
    expect(await senders.assign(other, from)).toBe('taken');
    expect(await smsFrom(other)).toBeNull();
    expect(await smsFrom(id)).toBe(from);
  });

  it("release frees the tenant's number, leaves another tenant's, and is false for an unknown tenant", async () => {
    const id = await db.tenant();
    const other = await db.tenant();
    const mine = number();
    const theirs = number();
    await senders.assign(id, mine);
    await senders.assign(other, theirs);
    expect(await senders.release(id)).toBe(true);
    expect(await smsFrom(id)).toBeNull();
    expect(await smsFrom(other)).toBe(theirs);
    expect(await senders.release(newId())).toBe(false);
    expect(await senders.assign(other, mine)).toBe('assigned');
  });

  it('ownerOf (system) names the tenant holding a number, or null', async () => {
    const id = await db.tenant();
    const from = number();
    await senders.assign(id, from);
    expect(await senders.ownerOf(from)).toBe(id);
    expect(await senders.ownerOf(number())).toBeNull();
  });

  it('tenantsSendingFrom (system): an own number is its tenant alone; a shared one is every tenant without one', async () => {
    // Its own database: the shared case spans every tenant in it.
    const own = await repositoryDb('repo-sms-senders-shared');
    try {
      const repo = new SmsSendersRepository(own.pool);
      const shared = ['+15005550006', '+1 500 555 0006'];
      const withNumber = await own.tenant();
      const withoutA = await own.tenant();
      const withoutB = await own.tenant();
      const onShared = await own.tenant();
      await repo.assign(withNumber, '+14155550100');
      await repo.assign(onShared, shared[0]!);
      expect(await repo.tenantsSendingFrom('+14155550100', shared)).toEqual([withNumber]);
      expect(await repo.tenantsSendingFrom('+14155550199', shared)).toEqual([]);
      expect((await repo.tenantsSendingFrom(shared[0]!, shared)).sort()).toEqual([withoutA, withoutB, onShared].sort());
      // Inside the caller's transaction, as the STOP handling runs it.
      const inTx = await inTransaction(own.pool, (client) => repo.tenantsSendingFrom('+14155550100', shared, client));
      expect(inTx).toEqual([withNumber]);
    } finally {
      await own.close();
    }
  });
});
