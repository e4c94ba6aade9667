import { newId } from '@herald/core';
import { WebhookEndpointsRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** WebhookEndpointsRepository against Postgres: a tenant's endpoints as its admin key manages them. */
describe('WebhookEndpointsRepository', () => {
  let db: RepositoryDb;
  let endpoints: WebhookEndpointsRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-webhook-endpoints');
    endpoints = new WebhookEndpointsRepository(db.prisma);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const stored = async (id: string) =>
    (
      await db.pool.query(
        `SELECT tenant_id AS "tenantId", url, secret, event_types AS "eventTypes", description, active,
           disabled_reason AS "disabledReason", consecutive_failures AS "consecutiveFailures"
         FROM webhook_endpoints WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const create = (tenantId: string, url = 'https://example.com/hook') =>
    endpoints.create(tenantId, { url, eventTypes: ['order.shipped'] }, 'whsec_x');

  it('create stores the endpoint with its secret, active', async () => {
    const made = await endpoints.create(
      tenant,
      { url: 'https://example.com/a', eventTypes: ['a', 'b'], description: 'orders' },
      'whsec_1',
    );
    expect(made).toMatchObject({ tenantId: tenant, url: 'https://example.com/a', secret: 'whsec_1', active: true });
    expect(await stored(made.id)).toEqual({
      tenantId: tenant,
      url: 'https://example.com/a',
      secret: 'whsec_1',
      eventTypes: ['a', 'b'],
      description: 'orders',
      active: true,
      disabledReason: null,
      consecutiveFailures: 0,
    });
  });

  it('list gives the tenant’s endpoints oldest first, none of another tenant’s', async () => {
    const t = await db.tenant('lister');
    const first = await create(t, 'https://example.com/1');
    const second = await create(t, 'https://example.com/2');
    await create(other, 'https://example.com/theirs');
    expect((await endpoints.list(t)).map((e) => e.id)).toEqual([first.id, second.id]);
  });

  it('get finds the tenant’s endpoint; null for another tenant’s, an unknown id or not an id', async () => {
    const mine = await create(tenant);
    const theirs = await create(other);
    expect(await endpoints.get(tenant, mine.id)).toMatchObject({ id: mine.id, tenantId: tenant });
    expect(await endpoints.get(tenant, theirs.id)).toBeNull();
    expect(await endpoints.get(tenant, newId())).toBeNull();
    expect(await endpoints.get(tenant, 'not-an-id')).toBeNull();
  });

  it('update changes the given fields and answers the endpoint; null (nothing changed) for another tenant’s', async () => {
    const mine = await create(tenant);
    await db.pool.query('UPDATE webhook_endpoints SET consecutive_failures = 7, active = false WHERE id = $1', [
      mine.id,
    ]);
    const changed = await endpoints.update(tenant, mine.id, {
      url: 'https://example.com/new',
      description: null,
      active: true,
      disabledReason: null,
      consecutiveFailures: 0,
    });
    expect(changed).toMatchObject({
      id: mine.id,
      url: 'https://example.com/new',
      active: true,
      consecutiveFailures: 0,
    });
    expect(await stored(mine.id)).toMatchObject({ url: 'https://example.com/new', eventTypes: ['order.shipped'] });

    const theirs = await create(other);
    const before = await stored(theirs.id);
    expect(await endpoints.update(tenant, theirs.id, { url: 'https://evil.example.com', active: false })).toBeNull();
    expect(await stored(theirs.id)).toEqual(before);
    expect(await endpoints.update(tenant, newId(), { active: false })).toBeNull();
    expect(await endpoints.update(tenant, 'not-an-id', { active: false })).toBeNull();
  });

  it('remove deletes the tenant’s endpoint; false for another tenant’s (which stays), unknown or no id', async () => {
    const mine = await create(tenant);
    const theirs = await create(other);
    expect(await endpoints.remove(tenant, theirs.id)).toBe(false);
    expect(await stored(theirs.id)).toBeDefined();
    expect(await endpoints.remove(tenant, 'not-an-id')).toBe(false);
    expect(await endpoints.remove(tenant, mine.id)).toBe(true);
    expect(await stored(mine.id)).toBeUndefined();
    expect(await endpoints.remove(tenant, mine.id)).toBe(false);
  });
});
