import { newId } from '@herald/core';
import { SubscribersRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** SubscribersRepository against Postgres: a tenant's subscribers and their push devices. */
describe('SubscribersRepository', () => {
  let db: RepositoryDb;
  let subscribers: SubscribersRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-subscribers');
    subscribers = new SubscribersRepository(db.prisma, db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const sub = () => `sub-${newId()}`;
  const row = async (tenantId: string, subscriberId: string) =>
    (
      await db.pool.query(
        `SELECT email, phone, locale, timezone, data, preferences, quiet_hours AS "quietHours",
           quiet_hours IS NULL AS "quietHoursNull"
         FROM subscribers WHERE tenant_id = $1 AND subscriber_id = $2`,
        [tenantId, subscriberId],
      )
    ).rows[0];
  const devices = async (tenantId: string, subscriberId?: string) =>
    (
      await db.pool.query(
        `SELECT subscriber_id AS "subscriberId", token, platform, active FROM devices
         WHERE tenant_id = $1 AND ($2::text IS NULL OR subscriber_id = $2) ORDER BY token`,
        [tenantId, subscriberId ?? null],
      )
    ).rows;

  it('get finds the tenant’s subscriber by its id; null for an unknown one or another tenant’s', async () => {
    const id = sub();
    await subscribers.upsertProfile(tenant, id, { email: 'ann@example.com' });
    const theirs = sub();
    await subscribers.upsertProfile(other, theirs, { email: 'bob@example.com' });
    expect(await subscribers.get(tenant, id)).toMatchObject({
      tenantId: tenant,
      subscriberId: id,
      email: 'ann@example.com',
    });
    expect(await subscribers.get(tenant, sub())).toBeNull();
    expect(await subscribers.get(tenant, theirs)).toBeNull();
  });

  it('page lists the tenant’s subscribers newest first, after a cursor, limit + 1; none of another tenant’s', async () => {
    const t = await db.tenant('pager');
    const ids = ['a', 'b', 'c', 'd'];
    for (const [i, id] of ids.entries()) {
      await db.pool.query(
        `INSERT INTO subscribers (id, tenant_id, subscriber_id, created_at) VALUES ($1, $2, $3, $4)`,
        [newId(), t, id, new Date(Date.UTC(2026, 0, 1, 0, 0, i))],
      );
    }
    await subscribers.upsertProfile(other, 'e', {});
    const names = (rows: { subscriberId: string }[]) => rows.map((r) => r.subscriberId);

    expect(names(await subscribers.page(t, undefined, 10))).toEqual(['d', 'c', 'b', 'a']);
    const first = await subscribers.page(t, undefined, 1);
    expect(names(first)).toEqual(['d', 'c']);
    expect(names(await subscribers.page(t, { at: first[0].createdAt, id: first[0].id }, 2))).toEqual(['c', 'b', 'a']);
  });

  it('upsertProfile creates, then merges: absent fields keep what is stored, null clears; another tenant’s is its own', async () => {
    const id = sub();
    await subscribers.upsertProfile(other, id, { email: 'theirs@example.com', locale: 'de' });
    expect(
      await subscribers.upsertProfile(tenant, id, {
        email: 'ann@example.com',
        phone: '+15550001111',
        locale: 'fr',
        data: { plan: 'pro' },
        quietHours: { start: '22:00', end: '07:00' },
      }),
    ).toEqual({ created: true });
    expect(await row(tenant, id)).toMatchObject({
      email: 'ann@example.com',
      phone: '+15550001111',
      locale: 'fr',
      timezone: null,
      data: { plan: 'pro' },
      quietHours: { start: '22:00', end: '07:00' },
    });

    expect(
      await subscribers.upsertProfile(tenant, id, { phone: null, timezone: 'Europe/Paris', quietHours: null }),
    ).toEqual({ created: false });
    expect(await row(tenant, id)).toMatchObject({
      email: 'ann@example.com',
      phone: null,
      locale: 'fr',
      timezone: 'Europe/Paris',
      data: { plan: 'pro' },
      quietHoursNull: true,
    });
    expect(await row(other, id)).toMatchObject({
      email: 'theirs@example.com',
      phone: null,
      locale: 'de',
      timezone: null,
    });
  });

  it('setPreferences replaces the preferences, creating the subscriber when new; another tenant’s stay', async () => {
    const id = sub();
    await subscribers.upsertProfile(other, id, {});
    await subscribers.setPreferences(other, id, { channels: { sms: false } });
    await subscribers.setPreferences(tenant, id, { channels: { email: false } });
    expect(await row(tenant, id)).toMatchObject({ preferences: { channels: { email: false } }, email: null });
    await subscribers.upsertProfile(tenant, id, { email: 'ann@example.com' });
    await subscribers.setPreferences(tenant, id, { categories: { news: { email: false } } });
    expect(await row(tenant, id)).toMatchObject({
      preferences: { categories: { news: { email: false } } },
      email: 'ann@example.com',
    });
    expect((await row(other, id)).preferences).toEqual({ channels: { sms: false } });
  });

  it('ensure creates bare subscribers for new ids, leaves existing ones as they are, in a caller’s transaction too', async () => {
    const known = sub();
    await subscribers.upsertProfile(tenant, known, { email: 'known@example.com' });
    const fresh = sub();
    await subscribers.ensure(tenant, [fresh, known].sort());
    expect(await row(tenant, fresh)).toMatchObject({ email: null, data: {}, preferences: {} });
    expect((await row(tenant, known)).email).toBe('known@example.com');
    expect(await row(other, fresh)).toBeUndefined();
    await subscribers.ensure(tenant, []);

    const rolledBack = sub();
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await subscribers.ensure(tenant, [rolledBack], client);
      expect((await client.query('SELECT 1 FROM subscribers WHERE subscriber_id = $1', [rolledBack])).rowCount).toBe(1);
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await row(tenant, rolledBack)).toBeUndefined();
  });

  it('remove deletes the subscriber and its devices; false for none; another tenant’s of that id stays', async () => {
    const id = sub();
    await subscribers.registerDevice(tenant, id, `tok-${id}`, 'ios');
    await subscribers.registerDevice(other, id, `tok-${id}`, 'android');
    expect(await subscribers.remove(tenant, id)).toBe(true);
    expect(await row(tenant, id)).toBeUndefined();
    expect(await devices(tenant, id)).toEqual([]);
    expect(await subscribers.remove(tenant, id)).toBe(false);
    expect(await row(other, id)).toBeDefined();
    expect(await devices(other, id)).toEqual([
      { subscriberId: id, token: `tok-${id}`, platform: 'android', active: true },
    ]);
  });

  it('devicesOf groups the subscribers’ devices, oldest first; none of another tenant’s', async () => {
    const ann = sub();
    const bob = sub();
    await subscribers.registerDevice(tenant, ann, `a1-${ann}`, 'ios');
    await subscribers.registerDevice(tenant, ann, `a2-${ann}`, 'android');
    await subscribers.registerDevice(tenant, bob, `b1-${bob}`, 'web');
    await subscribers.registerDevice(other, ann, `x-${ann}`, 'ios');
    const found = await subscribers.devicesOf(tenant, [ann, bob, sub()]);
    expect([...found.keys()].sort()).toEqual([ann, bob].sort());
    expect(found.get(ann)!.map((d) => d.token)).toEqual([`a1-${ann}`, `a2-${ann}`]);
    expect(found.get(bob)!.map((d) => d.token)).toEqual([`b1-${bob}`]);
    expect((await subscribers.devicesOf(tenant, [])).size).toBe(0);
  });

  it('registerDevice creates the subscriber when new, and re-activates and moves a known token; per tenant', async () => {
    const ann = sub();
    const bob = sub();
    const token = `tok-${ann}`;
    const first = await subscribers.registerDevice(tenant, ann, token, 'ios');
    expect(first).toMatchObject({ tenantId: tenant, subscriberId: ann, token, platform: 'ios', active: true });
    expect(await row(tenant, ann)).toBeDefined();

    await subscribers.registerDevice(other, ann, token, 'web');
    await db.pool.query(
      `UPDATE devices SET active = false, deactivated_reason = 'unregistered', deactivated_at = now()
       WHERE tenant_id = $1 AND token = $2`,
      [tenant, token],
    );
    const moved = await subscribers.registerDevice(tenant, bob, token, 'android');
    expect(moved).toMatchObject({
      id: first.id,
      subscriberId: bob,
      platform: 'android',
      active: true,
      deactivatedReason: null,
      deactivatedAt: null,
    });
    expect(await row(tenant, bob)).toBeDefined();
    expect(await devices(other, ann)).toEqual([{ subscriberId: ann, token, platform: 'web', active: true }]);
  });

  it('removeDevice deletes the subscriber’s token; false for another subscriber’s or another tenant’s', async () => {
    const ann = sub();
    const token = `tok-${ann}`;
    await subscribers.registerDevice(tenant, ann, token, 'ios');
    await subscribers.registerDevice(other, ann, token, 'ios');
    expect(await subscribers.removeDevice(tenant, sub(), token)).toBe(false);
    expect(await subscribers.removeDevice(tenant, ann, 'no-such-token')).toBe(false);
    expect(await subscribers.removeDevice(tenant, ann, token)).toBe(true);
    expect(await devices(tenant, ann)).toEqual([]);
    expect(await subscribers.removeDevice(tenant, ann, token)).toBe(false);
    expect(await devices(other, ann)).toHaveLength(1);
  });
});
