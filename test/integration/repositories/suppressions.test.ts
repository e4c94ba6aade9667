import { Pool } from 'pg';
import { newId } from '@herald/core';
import { PrismaService, SuppressionsRepository } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

/** SuppressionsRepository against Postgres: a tenant's suppression list as its admin key manages it. */
describe('SuppressionsRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let suppressions: SuppressionsRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('repo_suppressions', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    suppressions = new SuppressionsRepository(prisma, pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'a'), ($2, 'b')`, [tenant, other]);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await pool.end();
    await db.drop();
  });

  const manual = { reason: 'manual' as const, source: 'admin' };
  const count = async (tenantId: string) =>
    Number((await pool.query(`SELECT count(*) FROM suppressions WHERE tenant_id = $1`, [tenantId])).rows[0].count);

  it('add: stores the address normalized (the domain lower-cased) and returns the entry; null for an address not of the channel', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000);
    const added = await suppressions.add(tenant, {
      channel: 'email',
      address: ' Ann@Example.COM ',
      ...manual,
      detail: 'asked by phone',
      expiresAt,
    });
    expect(added).toEqual(
      expect.objectContaining({
        tenantId: tenant,
        channel: 'email',
        address: 'Ann@example.com',
        reason: 'manual',
        source: 'admin',
        detail: 'asked by phone',
        expiresAt,
      }),
    );
    expect(await suppressions.add(tenant, { channel: 'sms', address: 'not a number', ...manual })).toBeNull();
  });

  it("add: merges into the tenant's own entry only; another tenant's entry for the address is its own", async () => {
    const theirs = await suppressions.add(other, { channel: 'sms', address: '+15550002222', ...manual });
    const mine = await suppressions.add(tenant, { channel: 'sms', address: '+15550002222', ...manual });
    const again = await suppressions.add(tenant, {
      channel: 'sms',
      address: '+15550002222',
      reason: 'opt_out',
      source: 'twilio',
    });
    expect(again).toEqual(expect.objectContaining({ id: mine!.id, reason: 'opt_out', tenantId: tenant }));
    expect(mine!.id).not.toBe(theirs!.id);
    expect((await prisma.suppression.findUnique({ where: { id: theirs!.id } }))!.reason).toBe('manual');
  });

  it("page: the tenant's entries newest first, by channel and address (normalized), one more than the limit", async () => {
    const tenantId = newId();
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'c')`, [tenantId]);
    const a = await suppressions.add(tenantId, { channel: 'email', address: 'a@example.com', ...manual });
    const b = await suppressions.add(tenantId, { channel: 'sms', address: '+15550003333', ...manual });
    const c = await suppressions.add(tenantId, { channel: 'email', address: 'c@example.com', ...manual });
    await suppressions.add(other, { channel: 'email', address: 'a@example.com', ...manual });
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

    expect(ids(await suppressions.page(tenantId, {}, undefined, 50))).toEqual([c!.id, b!.id, a!.id]);
    expect(ids(await suppressions.page(tenantId, { channel: 'email' }, undefined, 50))).toEqual([c!.id, a!.id]);
    expect(
      ids(await suppressions.page(tenantId, { channel: 'email', address: ' a@EXAMPLE.com' }, undefined, 50)),
    ).toEqual([a!.id]);
    // Without a channel the address is searched as typed.
    expect(await suppressions.page(tenantId, { address: ' a@EXAMPLE.com' }, undefined, 50)).toEqual([]);
    expect(ids(await suppressions.page(tenantId, { address: '+15550003333' }, undefined, 50))).toEqual([b!.id]);

    const first = await suppressions.page(tenantId, {}, undefined, 1);
    expect(ids(first)).toEqual([c!.id, b!.id]);
    expect(ids(await suppressions.page(tenantId, {}, { at: first[0].createdAt, id: first[0].id }, 1))).toEqual([
      b!.id,
      a!.id,
    ]);
  });

  it("page: none of another tenant's entries", async () => {
    const theirs = await suppressions.add(other, { channel: 'email', address: 'only-theirs@example.com', ...manual });
    const mine = await suppressions.page(
      tenant,
      { channel: 'email', address: 'only-theirs@example.com' },
      undefined,
      50,
    );
    expect(mine).toEqual([]);
    expect(ids(await suppressions.page(tenant, {}, undefined, 50))).not.toContain(theirs!.id);
    function ids(rows: { id: string }[]) {
      return rows.map((r) => r.id);
    }
  });

  it("remove: the tenant's entry; false for another tenant's, an unknown id or no id", async () => {
    const theirs = await suppressions.add(other, { channel: 'email', address: 'gone@example.com', ...manual });
    const mine = await suppressions.add(tenant, { channel: 'email', address: 'gone@example.com', ...manual });
    const before = await count(other);
    expect(await suppressions.remove(tenant, theirs!.id)).toBe(false);
    expect(await count(other)).toBe(before);
    expect(await suppressions.remove(tenant, newId())).toBe(false);
    expect(await suppressions.remove(tenant, 'not-an-id')).toBe(false);
    expect(await suppressions.remove(tenant, mine!.id)).toBe(true);
    expect(await suppressions.remove(tenant, mine!.id)).toBe(false);
    expect(await prisma.suppression.findUnique({ where: { id: theirs!.id } })).not.toBeNull();
  });
});
