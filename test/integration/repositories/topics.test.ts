import { newId } from '@herald/core';
import { SubscribersRepository, TopicsRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** TopicsRepository against Postgres: a tenant's topics and their members. */
describe('TopicsRepository', () => {
  let db: RepositoryDb;
  let topics: TopicsRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-topics');
    topics = new TopicsRepository(db.pool, new SubscribersRepository(db.prisma, db.pool));
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const key = () => `topic-${newId()}`;
  const memberIds = async (tenantId: string, topicKey: string) =>
    (
      await db.pool.query<{ subscriberId: string }>(
        `SELECT m.subscriber_id AS "subscriberId" FROM topic_members m JOIN topics t ON t.id = m.topic_id
         WHERE t.tenant_id = $1 AND t.key = $2 ORDER BY 1`,
        [tenantId, topicKey],
      )
    ).rows.map((r) => r.subscriberId);
  const subscriberExists = async (tenantId: string, subscriberId: string) =>
    (
      await db.pool.query('SELECT 1 FROM subscribers WHERE tenant_id = $1 AND subscriber_id = $2', [
        tenantId,
        subscriberId,
      ])
    ).rowCount === 1;

  it('changeMembers creates the topic, adds (new ids become subscribers) then removes; counts what changed', async () => {
    const k = key();
    expect(await topics.changeMembers(tenant, k, ['bob', 'ann', 'ann'], [])).toEqual({
      added: 2,
      removed: 0,
      members: 2,
    });
    expect(await subscriberExists(tenant, 'ann')).toBe(true);
    expect(await topics.changeMembers(tenant, k, ['ann', 'cat'], ['bob', 'nobody'])).toEqual({
      added: 1,
      removed: 1,
      members: 2,
    });
    expect(await memberIds(tenant, k)).toEqual(['ann', 'cat']);
    expect(await topics.changeMembers(tenant, k, [], [])).toEqual({ added: 0, removed: 0, members: 2 });
  });

  it('changeMembers on a key another tenant also uses changes only the tenant’s own topic', async () => {
    const k = key();
    await topics.changeMembers(other, k, ['ann', 'bob'], []);
    expect(await topics.changeMembers(tenant, k, ['cat'], ['ann'])).toEqual({ added: 1, removed: 0, members: 1 });
    expect(await memberIds(other, k)).toEqual(['ann', 'bob']);
    expect(await memberIds(tenant, k)).toEqual(['cat']);
    expect(await subscriberExists(other, 'cat')).toBe(false);
  });

  it('find answers the topic with its member count; null for an unknown key or another tenant’s', async () => {
    const k = key();
    await topics.changeMembers(tenant, k, ['ann', 'bob', 'cat'], []);
    const theirs = key();
    await topics.changeMembers(other, theirs, ['ann'], []);
    expect(await topics.find(tenant, k)).toEqual({ key: k, members: 3, createdAt: expect.any(Date) });
    expect(await topics.find(tenant, key())).toBeNull();
    expect(await topics.find(tenant, theirs)).toBeNull();
  });

  it('lookup answers the topic’s row; null for an unknown key or another tenant’s', async () => {
    const k = key();
    await topics.changeMembers(tenant, k, ['ann'], []);
    const theirs = key();
    await topics.changeMembers(other, theirs, ['ann'], []);
    const { rows } = await db.pool.query('SELECT id FROM topics WHERE tenant_id = $1 AND key = $2', [tenant, k]);
    expect(await topics.lookup(tenant, k)).toEqual({ id: rows[0].id, key: k, createdAt: expect.any(Date) });
    expect(await topics.lookup(tenant, key())).toBeNull();
    expect(await topics.lookup(tenant, theirs)).toBeNull();
  });

  it('members lists newest first, after a cursor, limit + 1; none through another tenant’s topic id', async () => {
    const k = key();
    await topics.changeMembers(tenant, k, ['ann', 'bob'], []);
    const topic = (await topics.lookup(tenant, k))!;
    // Later than the first two, whose created_at is the first transaction's.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await topics.changeMembers(tenant, k, ['cat'], []);

    const all = await topics.members(tenant, topic.id, undefined, 10);
    expect(all.map((m) => m.id)).toEqual(['cat', 'bob', 'ann']);
    const first = await topics.members(tenant, topic.id, undefined, 1);
    expect(first.map((m) => m.id)).toEqual(['cat', 'bob']);
    expect((await topics.members(tenant, topic.id, { at: first[0].createdAt, id: 'cat' }, 5)).map((m) => m.id)).toEqual(
      ['bob', 'ann'],
    );
    expect((await topics.members(tenant, topic.id, { at: all[1].createdAt, id: 'bob' }, 5)).map((m) => m.id)).toEqual([
      'ann',
    ]);

    const theirs = key();
    await topics.changeMembers(other, theirs, ['dan'], []);
    const theirTopic = (await topics.lookup(other, theirs))!;
    expect(await topics.members(tenant, theirTopic.id, undefined, 10)).toEqual([]);
  });

  it('remove deletes the topic and its memberships, the subscribers stay; false for none or another tenant’s', async () => {
    const k = key();
    await topics.changeMembers(tenant, k, ['ann'], []);
    await topics.changeMembers(other, k, ['ann'], []);
    const theirs = key();
    await topics.changeMembers(other, theirs, ['bob'], []);
    expect(await topics.remove(tenant, theirs)).toBe(false);
    expect(await topics.remove(tenant, k)).toBe(true);
    expect(await topics.lookup(tenant, k)).toBeNull();
    expect(await memberIds(tenant, k)).toEqual([]);
    expect(await subscriberExists(tenant, 'ann')).toBe(true);
    expect(await topics.remove(tenant, k)).toBe(false);
    expect(await memberIds(other, k)).toEqual(['ann']);
    expect(await memberIds(other, theirs)).toEqual(['bob']);
  });
});
