import { RulesRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** RulesRepository against Postgres: a tenant's rules, one per event type, as its admin key manages them. */
describe('RulesRepository', () => {
  let db: RepositoryDb;
  let rules: RulesRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-rules');
    rules = new RulesRepository(db.prisma);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const email = [{ channel: 'email', template: { subject: 'Hi', text: 'hello' } }];
  const sms = [{ channel: 'sms', template: { text: 'hi' } }];
  const stored = async (tenantId: string, eventType: string) =>
    (
      await db.pool.query<{ category: string | null; critical: boolean; channels: unknown }>(
        'SELECT category, critical, channels FROM rules WHERE tenant_id = $1 AND event_type = $2',
        [tenantId, eventType],
      )
    ).rows[0];

  it('save creates the rule, then replaces what it says; another tenant’s rule for the type stays its own', async () => {
    const theirs = await rules.save(other, 'order.shipped', { category: 'orders', critical: false, channels: sms });
    const created = await rules.save(tenant, 'order.shipped', { category: 'orders', critical: false, channels: email });
    expect(created).toMatchObject({
      tenantId: tenant,
      eventType: 'order.shipped',
      category: 'orders',
      channels: email,
    });
    expect(created.id).not.toBe(theirs.id);

    const replaced = await rules.save(tenant, 'order.shipped', { category: null, critical: true, channels: sms });
    expect(replaced).toMatchObject({ id: created.id, category: null, critical: true, channels: sms });
    expect(replaced.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    expect(await stored(tenant, 'order.shipped')).toEqual({ category: null, critical: true, channels: sms });
    expect(await stored(other, 'order.shipped')).toEqual({ category: 'orders', critical: false, channels: sms });
  });

  it('list gives the tenant’s rules by event type, A to Z, and none of another tenant’s', async () => {
    const t = await db.tenant('lister');
    await rules.save(t, 'b.second', { category: null, critical: false, channels: email });
    await rules.save(t, 'a.first', { category: null, critical: false, channels: email });
    await rules.save(t, 'c.third', { category: null, critical: false, channels: email });
    await rules.save(other, 'a.between', { category: null, critical: false, channels: email });
    expect((await rules.list(t)).map((r) => r.eventType)).toEqual(['a.first', 'b.second', 'c.third']);
    expect((await rules.list(t)).every((r) => r.tenantId === t)).toBe(true);
  });

  it('get finds the tenant’s rule by event type; null for an unknown type or another tenant’s', async () => {
    await rules.save(tenant, 'get.me', { category: 'x', critical: false, channels: email });
    await rules.save(other, 'only.theirs', { category: null, critical: false, channels: email });
    expect(await rules.get(tenant, 'get.me')).toMatchObject({ tenantId: tenant, eventType: 'get.me', category: 'x' });
    expect(await rules.get(tenant, 'no.such')).toBeNull();
    expect(await rules.get(tenant, 'only.theirs')).toBeNull();
  });

  it('remove deletes the tenant’s rule; false for none, and another tenant’s stays', async () => {
    await rules.save(tenant, 'gone.soon', { category: null, critical: false, channels: email });
    await rules.save(other, 'gone.soon', { category: null, critical: false, channels: sms });
    await rules.save(other, 'theirs.alone', { category: null, critical: false, channels: sms });
    expect(await rules.remove(tenant, 'theirs.alone')).toBe(false);
    expect(await rules.remove(tenant, 'gone.soon')).toBe(true);
    expect(await stored(tenant, 'gone.soon')).toBeUndefined();
    expect(await rules.remove(tenant, 'gone.soon')).toBe(false);
    expect(await stored(other, 'gone.soon')).toEqual({ category: null, critical: false, channels: sms });
    expect(await stored(other, 'theirs.alone')).toBeDefined();
  });
});
