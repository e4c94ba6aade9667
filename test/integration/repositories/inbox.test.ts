import { newId } from '@herald/core';
import { InboxRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

describe('InboxRepository', () => {
  let db: RepositoryDb;
  let inbox: InboxRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-inbox');
    inbox = new InboxRepository(db.prisma);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  let clock = Date.parse('2026-01-01T00:00:00Z');
  /** A message, each a second after the last unless `at` says otherwise. */
  async function message(
    tenantId: string,
    subscriberId: string,
    state: { at?: Date; seen?: boolean; read?: boolean; archived?: boolean } = {},
  ): Promise<string> {
    const id = newId();
    const at = state.at ?? new Date((clock += 1000));
    const stamp = (on?: boolean) => (on ? at : null);
    await db.pool.query(
      `INSERT INTO inbox_messages (id, tenant_id, subscriber_id, event_id, title, body, created_at, seen_at, read_at,
         archived_at)
       VALUES ($1, $2, $3, $4, 'title', 'body', $5, $6, $7, $8)`,
      [id, tenantId, subscriberId, newId(), at, stamp(state.seen), stamp(state.read), stamp(state.archived)],
    );
    return id;
  }
  const state = async (id: string) =>
    (
      await db.pool.query<{ seenAt: Date | null; readAt: Date | null; archivedAt: Date | null }>(
        `SELECT seen_at AS "seenAt", read_at AS "readAt", archived_at AS "archivedAt" FROM inbox_messages WHERE id = $1`,
        [id],
      )
    ).rows[0]!;
  const subscriber = () => `sub-${newId()}`;

  it('page lists one subscriber’s unarchived messages newest first, by status, after a cursor, limit + 1', async () => {
    const sub = subscriber();
    const oldest = await message(tenant, sub, { read: true });
    const middle = await message(tenant, sub);
    const newest = await message(tenant, sub);
    await message(tenant, sub, { archived: true });
    await message(tenant, subscriber());
    await message(other, sub);
    const ids = async (opts: Parameters<InboxRepository['page']>[2]) =>
      (await inbox.page(tenant, sub, opts)).map((m) => m.id);

    expect(await ids({ limit: 10, status: 'all' })).toEqual([newest, middle, oldest]);
    expect(await ids({ limit: 10, status: 'unread' })).toEqual([newest, middle]);
    expect(await ids({ limit: 10, status: 'read' })).toEqual([oldest]);
    expect(await ids({ limit: 1, status: 'all' })).toEqual([newest, middle]);
    const cursor = await inbox.get(tenant, sub, newest);
    expect(await ids({ limit: 10, status: 'all', after: { at: cursor!.createdAt, id: newest } })).toEqual([
      middle,
      oldest,
    ]);
    expect(await inbox.page(other, subscriber(), { limit: 10, status: 'all' })).toEqual([]);
  });

  it('unreadCount counts the subscriber’s unread, unarchived messages only', async () => {
    const sub = subscriber();
    await message(tenant, sub);
    await message(tenant, sub);
    await message(tenant, sub, { read: true });
    await message(tenant, sub, { archived: true });
    await message(other, sub);
    expect(await inbox.unreadCount(tenant, sub)).toBe(2);
    expect(await inbox.unreadCount(other, sub)).toBe(1);
  });

  it('get finds the subscriber’s message, archived too; null for another’s, another tenant’s, or a non-uuid', async () => {
    const sub = subscriber();
    const id = await message(tenant, sub, { archived: true });
    expect(await inbox.get(tenant, sub, id)).toMatchObject({ id, tenantId: tenant, subscriberId: sub, title: 'title' });
    expect(await inbox.get(tenant, subscriber(), id)).toBeNull();
    expect(await inbox.get(other, sub, id)).toBeNull();
    expect(await inbox.get(tenant, sub, 'not-a-uuid')).toBeNull();
  });

  it('markRead reads the message, seen then unless seen before; never another tenant’s', async () => {
    const sub = subscriber();
    const unseen = await message(tenant, sub);
    const seenAt = new Date('2025-06-01T00:00:00Z');
    const seen = await message(tenant, sub);
    await db.pool.query('UPDATE inbox_messages SET seen_at = $2 WHERE id = $1', [seen, seenAt]);
    const at = new Date('2026-02-01T00:00:00Z');

    expect(await inbox.markRead(tenant, sub, unseen, at, null)).toMatchObject({ id: unseen, readAt: at, seenAt: at });
    expect(await inbox.markRead(tenant, sub, seen, at, seenAt)).toMatchObject({ readAt: at, seenAt });

    const theirs = await message(other, sub);
    await expect(inbox.markRead(tenant, sub, theirs, at, null)).rejects.toMatchObject({ code: 'P2025' });
    expect(await state(theirs)).toEqual({ seenAt: null, readAt: null, archivedAt: null });
  });

  it('markAllRead sees and reads every unarchived message of the subscriber; how many were unread', async () => {
    const sub = subscriber();
    const seenAt = new Date('2025-06-01T00:00:00Z');
    const unread = await message(tenant, sub);
    const seenOnly = await message(tenant, sub);
    await db.pool.query('UPDATE inbox_messages SET seen_at = $2 WHERE id = $1', [seenOnly, seenAt]);
    const read = await message(tenant, sub, { read: true, seen: true });
    const archived = await message(tenant, sub, { archived: true });
    const otherSubscriber = await message(tenant, subscriber());
    const otherTenant = await message(other, sub);
    const at = new Date('2026-02-01T00:00:00Z');

    expect(await inbox.markAllRead(tenant, sub, at)).toBe(2);
    expect(await state(unread)).toEqual({ seenAt: at, readAt: at, archivedAt: null });
    expect(await state(seenOnly)).toEqual({ seenAt, readAt: at, archivedAt: null });
    expect((await state(read)).readAt).not.toEqual(at);
    expect((await state(archived)).readAt).toBeNull();
    expect(await state(otherSubscriber)).toEqual({ seenAt: null, readAt: null, archivedAt: null });
    expect(await state(otherTenant)).toEqual({ seenAt: null, readAt: null, archivedAt: null });
    expect(await inbox.markAllRead(tenant, sub, at)).toBe(0);
  });

  it('archive archives the subscriber’s message; never another tenant’s', async () => {
    const sub = subscriber();
    const id = await message(tenant, sub);
    const at = new Date('2026-02-01T00:00:00Z');
    expect(await inbox.archive(tenant, sub, id, at)).toMatchObject({ id, archivedAt: at });
    const theirs = await message(other, sub);
    await expect(inbox.archive(tenant, sub, theirs, at)).rejects.toMatchObject({ code: 'P2025' });
    expect((await state(theirs)).archivedAt).toBeNull();
  });

  it('after gives what came after a message, oldest first, unarchived, limit + 1; null for an unknown anchor', async () => {
    const sub = subscriber();
    const anchor = await message(tenant, sub);
    const anchorAt = (await inbox.get(tenant, sub, anchor))!.createdAt;
    // Same time as the anchor: the id orders them.
    const tied = await message(tenant, sub, { at: anchorAt });
    const next = await message(tenant, sub);
    const last = await message(tenant, sub);
    await message(tenant, sub, { archived: true });
    await message(other, sub);
    const sameTime = tied > anchor ? [tied] : [];

    expect((await inbox.after(tenant, sub, anchor, 10))!.map((m) => m.id)).toEqual([...sameTime, next, last]);
    expect((await inbox.after(tenant, sub, anchor, 1))!).toHaveLength(2);
    expect(await inbox.after(tenant, subscriber(), anchor, 10)).toBeNull();
    expect(await inbox.after(other, sub, anchor, 10)).toBeNull();
  });
});
