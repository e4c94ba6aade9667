import { newId } from '@herald/core';
import { SourcesRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** SourcesRepository against Postgres: a tenant's inbound hook sources, and the system lookup of an inbound post. */
describe('SourcesRepository', () => {
  let db: RepositoryDb;
  let sources: SourcesRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-sources');
    sources = new SourcesRepository(db.prisma);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const mapping = { subscriberId: '$.user.id' };
  const create = (tenantId: string, name = 'stripe') =>
    sources.create(tenantId, { name, eventType: 'payment.failed', mapping }, 'secret-1');
  const exists = async (id: string) =>
    (await db.pool.query('SELECT 1 FROM sources WHERE id = $1', [id])).rowCount === 1;

  it('create stores the source with its mapping and secret', async () => {
    const made = await create(tenant);
    expect(made).toMatchObject({
      tenantId: tenant,
      name: 'stripe',
      eventType: 'payment.failed',
      mapping,
      secret: 'secret-1',
    });
    const { rows } = await db.pool.query(
      'SELECT tenant_id AS "tenantId", name, event_type AS "eventType", mapping, secret FROM sources WHERE id = $1',
      [made.id],
    );
    expect(rows).toEqual([
      { tenantId: tenant, name: 'stripe', eventType: 'payment.failed', mapping, secret: 'secret-1' },
    ]);
  });

  it('list gives the tenant’s sources oldest first, none of another tenant’s', async () => {
    const t = await db.tenant('lister');
    const a = await create(t, 'a');
    const b = await create(t, 'b');
    await create(other, 'theirs');
    expect((await sources.list(t)).map((s) => s.id)).toEqual([a.id, b.id]);
  });

  it('get finds the tenant’s source; null for another tenant’s, an unknown id or not an id', async () => {
    const mine = await create(tenant);
    const theirs = await create(other);
    expect(await sources.get(tenant, mine.id)).toMatchObject({ id: mine.id, tenantId: tenant });
    expect(await sources.get(tenant, theirs.id)).toBeNull();
    expect(await sources.get(tenant, newId())).toBeNull();
    expect(await sources.get(tenant, 'nope')).toBeNull();
  });

  it('remove deletes the tenant’s source; false for another tenant’s (which stays), unknown or no id', async () => {
    const mine = await create(tenant);
    const theirs = await create(other);
    expect(await sources.remove(tenant, theirs.id)).toBe(false);
    expect(await exists(theirs.id)).toBe(true);
    expect(await sources.remove(tenant, 'nope')).toBe(false);
    expect(await sources.remove(tenant, mine.id)).toBe(true);
    expect(await exists(mine.id)).toBe(false);
    expect(await sources.remove(tenant, mine.id)).toBe(false);
  });

  it('forInboundPost (system) finds any tenant’s source by id alone; null when unknown, not an id, or its tenant is suspended', async () => {
    const mine = await create(tenant);
    const theirs = await create(other);
    expect(await sources.forInboundPost(mine.id)).toMatchObject({ id: mine.id, tenantId: tenant });
    expect(await sources.forInboundPost(theirs.id)).toMatchObject({ id: theirs.id, tenantId: other });
    expect(await sources.forInboundPost(newId())).toBeNull();
    expect(await sources.forInboundPost('nope')).toBeNull();

    const suspended = await db.tenant('suspended');
    const gone = await create(suspended);
    await db.pool.query('UPDATE tenants SET revoked_at = now() WHERE id = $1', [suspended]);
    expect(await sources.forInboundPost(gone.id)).toBeNull();
    expect(await sources.forInboundPost(mine.id)).not.toBeNull();
  });
});
