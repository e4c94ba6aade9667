import { newId } from '@herald/core';
import { FanoutRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** FanoutRepository against Postgres: what the fan-out reads and writes for one tenant's batch of events. */
describe('FanoutRepository', () => {
  let db: RepositoryDb;
  let fanout: FanoutRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-fanout');
    fanout = new FanoutRepository(db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  let clock = Date.parse('2026-01-01T00:00:00Z');
  /** An event, each a second after the last. */
  async function event(
    tenantId: string,
    fields: { type?: string; recipients?: unknown[]; status?: string; correlationId?: string } = {},
  ): Promise<string> {
    const id = newId();
    await db.pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, status, correlation_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        id,
        tenantId,
        fields.type ?? 'greet',
        JSON.stringify(fields.recipients ?? []),
        fields.status ?? 'accepted',
        fields.correlationId ?? null,
        new Date((clock += 1000)),
      ],
    );
    return id;
  }
  async function rule(
    tenantId: string,
    eventType: string,
    channels: unknown[],
    extra = { category: null as string | null, critical: false },
  ) {
    await db.pool.query(
      `INSERT INTO rules (id, tenant_id, event_type, channels, category, critical) VALUES ($1, $2, $3, $4, $5, $6)`,
      [newId(), tenantId, eventType, JSON.stringify(channels), extra.category, extra.critical],
    );
  }
  async function endpoint(tenantId: string, eventTypes: string[], active = true): Promise<string> {
    const id = newId();
    await db.pool.query(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, secret, event_types, active)
       VALUES ($1, $2, 'https://example.com/hook', 's', $3, $4)`,
      [id, tenantId, eventTypes, active],
    );
    return id;
  }
  const eventRow = async (id: string) =>
    (await db.pool.query('SELECT status, fanout_cursor AS "fanoutCursor" FROM events WHERE id = $1', [id])).rows[0];
  const subscriber = async (tenantId: string, subscriberId: string) =>
    (
      await db.pool.query(
        `SELECT email, phone, locale, timezone FROM subscribers WHERE tenant_id = $1 AND subscriber_id = $2`,
        [tenantId, subscriberId],
      )
    ).rows[0];
  const devices = async (tenantId: string) =>
    (
      await db.pool.query(
        `SELECT subscriber_id AS "subscriberId", token, platform, active FROM devices WHERE tenant_id = $1 ORDER BY token`,
        [tenantId],
      )
    ).rows;

  describe('events', () => {
    it('reads the tenant’s events asked for, with their rule and the active endpoints that take each', async () => {
      const t = await db.tenant('events');
      const channels = [{ channel: 'email', template: { subject: 'Hi', text: 'x' } }, { channel: 'webhook' }];
      await rule(t, 'order.shipped', channels, { category: 'orders', critical: true });
      await rule(t, 'no.webhook', [{ channel: 'sms', template: { text: 'x' } }]);
      const named = await endpoint(t, ['order.shipped', 'other']);
      const any = await endpoint(t, []);
      await endpoint(t, ['order.shipped'], false);
      await endpoint(t, ['something.else']);
      await endpoint(other, ['order.shipped']);
      const recipients = [{ subscriberId: 'ann', email: 'ann@example.com' }];
      const shipped = await event(t, { type: 'order.shipped', recipients, correlationId: 'c-1' });
      const plain = await event(t, { type: 'no.webhook' });
      const unruled = await event(t, { type: 'no.rule' });
      const theirs = await event(other, { type: 'order.shipped' });

      const { events, tenantRevoked } = await fanout.events(t, [shipped, plain, unruled, theirs, newId()]);
      expect(tenantRevoked).toBe(false);
      const byId = new Map(events.map((e) => [e.id, e]));
      expect([...byId.keys()].sort()).toEqual([shipped, plain, unruled].sort());
      expect(byId.get(shipped)).toEqual({
        id: shipped,
        type: 'order.shipped',
        recipients,
        status: 'accepted',
        fanoutCursor: null,
        correlationId: 'c-1',
        rule: { channels, category: 'orders', critical: true },
        endpoints: [named, any].sort(),
      });
      // An endpoint naming no type takes only what a rule's webhook channel sends it.
      expect(byId.get(plain)).toMatchObject({ rule: { category: null, critical: false }, endpoints: [] });
      expect(byId.get(unruled)).toMatchObject({ rule: null, endpoints: [] });
    });

    it('says when the tenant is suspended; another tenant’s events are not read', async () => {
      const t = await db.tenant('suspended');
      const id = await event(t);
      await db.pool.query('UPDATE tenants SET revoked_at = now() WHERE id = $1', [t]);
      expect(await fanout.events(t, [id])).toMatchObject({ tenantRevoked: true, events: [{ id }] });
      expect(await fanout.events(tenant, [id])).toEqual({ tenantRevoked: false, events: [] });
    });
  });

  describe('upsertRecipients', () => {
    it('creates the subscribers named inline; the newest event’s given fields win, absent ones keep what is stored', async () => {
      const t = await db.tenant('upsert');
      await db.pool.query(
        `INSERT INTO subscribers (id, tenant_id, subscriber_id, email, locale) VALUES ($1, $2, 'ann', 'old@example.com', 'de')`,
        [newId(), t],
      );
      const older = await event(t, {
        recipients: [{ subscriberId: 'ann', email: 'older@example.com', phone: '+15550001111' }, { topic: 'news' }],
      });
      const newer = await event(t, {
        recipients: [
          { subscriberId: 'ann', email: 'newer@example.com' },
          { subscriberId: 'bob', timezone: 'UTC' },
        ],
      });
      await fanout.upsertRecipients(t, [older, newer]);
      expect(await subscriber(t, 'ann')).toEqual({
        email: 'newer@example.com',
        phone: '+15550001111',
        locale: 'de',
        timezone: null,
      });
      expect(await subscriber(t, 'bob')).toEqual({ email: null, phone: null, locale: null, timezone: 'UTC' });
    });

    it('registers inline push tokens (each once, the newest event’s), re-activating a known one', async () => {
      const t = await db.tenant('devices');
      await db.pool.query(
        `INSERT INTO devices (id, tenant_id, subscriber_id, token, platform, active, deactivated_reason)
         VALUES ($1, $2, 'old-owner', 'tok-1', 'ios', false, 'unregistered')`,
        [newId(), t],
      );
      const older = await event(t, {
        recipients: [{ subscriberId: 'ann', pushTokens: [{ token: 'tok-1', platform: 'android' }] }],
      });
      const newer = await event(t, {
        recipients: [
          {
            subscriberId: 'bob',
            pushTokens: [
              { token: 'tok-1', platform: 'ios' },
              { token: 'tok-2', platform: 'web' },
            ],
          },
        ],
      });
      await fanout.upsertRecipients(t, [older, newer]);
      expect(await devices(t)).toEqual([
        { subscriberId: 'bob', token: 'tok-1', platform: 'ios', active: true },
        { subscriberId: 'bob', token: 'tok-2', platform: 'web', active: true },
      ]);
    });

    it('touches no other tenant: not its subscribers of the same id, nor through its events', async () => {
      const mine = await db.tenant('mine-upsert');
      const theirs = await db.tenant('theirs-upsert');
      await db.pool.query(
        `INSERT INTO subscribers (id, tenant_id, subscriber_id, email) VALUES ($1, $2, 'ann', 'theirs@example.com')`,
        [newId(), theirs],
      );
      const myEvent = await event(mine, { recipients: [{ subscriberId: 'ann', email: 'mine@example.com' }] });
      const theirEvent = await event(theirs, {
        recipients: [{ subscriberId: 'cat', email: 'cat@example.com', pushTokens: [{ token: 't', platform: 'ios' }] }],
      });
      await fanout.upsertRecipients(mine, [myEvent, theirEvent]);
      expect((await subscriber(mine, 'ann')).email).toBe('mine@example.com');
      expect((await subscriber(theirs, 'ann')).email).toBe('theirs@example.com');
      expect(await subscriber(mine, 'cat')).toBeUndefined();
      expect(await subscriber(theirs, 'cat')).toBeUndefined();
      expect(await devices(mine)).toEqual([]);
      expect(await devices(theirs)).toEqual([]);
    });
  });

  it('preferences: the tenant’s defaults and those of the subscribers asked about that have their own', async () => {
    const t = await db.tenant('prefs');
    await db.pool.query(`UPDATE tenants SET default_preferences = '{"channels":{"sms":false}}' WHERE id = $1`, [t]);
    await db.pool.query(
      `INSERT INTO subscribers (id, tenant_id, subscriber_id, preferences) VALUES
         ($1, $4, 'ann', '{"channels":{"email":false}}'), ($2, $4, 'bob', '{}'), ($3, $4, 'unasked', '{"x":1}')`,
      [newId(), newId(), newId(), t],
    );
    await db.pool.query(
      `INSERT INTO subscribers (id, tenant_id, subscriber_id, preferences) VALUES ($1, $2, 'bob', '{"theirs":true}')`,
      [newId(), other],
    );
    const prefs = await fanout.preferences(t, ['ann', 'bob', 'nobody']);
    expect(prefs.defaults).toEqual({ channels: { sms: false } });
    expect([...prefs.bySubscriber]).toEqual([['ann', { channels: { email: false } }]]);
    expect(await fanout.preferences(newId(), ['ann'])).toEqual({ defaults: {}, bySubscriber: new Map() });
  });

  it('nextMembers: the members of the topics after the cursor, each once, in id order, up to the limit', async () => {
    const t = await db.tenant('members');
    const topic = async (tenantId: string, key: string, members: string[]) => {
      const id = newId();
      await db.pool.query('INSERT INTO topics (id, tenant_id, key) VALUES ($1, $2, $3)', [id, tenantId, key]);
      for (const m of members) {
        await db.pool.query(
          `INSERT INTO subscribers (id, tenant_id, subscriber_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [newId(), tenantId, m],
        );
        await db.pool.query('INSERT INTO topic_members (topic_id, tenant_id, subscriber_id) VALUES ($1, $2, $3)', [
          id,
          tenantId,
          m,
        ]);
      }
    };
    await topic(t, 'news', ['a', 'c', 'e']);
    await topic(t, 'sales', ['b', 'c', 'd']);
    await topic(t, 'unasked', ['aa']);
    await topic(other, 'news', ['ab', 'b0']);

    expect(await fanout.nextMembers(t, ['news', 'sales'], '', 10)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await fanout.nextMembers(t, ['news', 'sales'], '', 3)).toEqual(['a', 'b', 'c']);
    expect(await fanout.nextMembers(t, ['news', 'sales'], 'c', 3)).toEqual(['d', 'e']);
    expect(await fanout.nextMembers(t, ['news', 'sales'], 'e', 3)).toEqual([]);
    expect(await fanout.nextMembers(t, ['none'], '', 3)).toEqual([]);
  });

  it('advanceCursor moves a topic fan-out’s cursor forward only; never another tenant’s event', async () => {
    const id = await event(tenant);
    await fanout.advanceCursor(tenant, id, 'm');
    expect((await eventRow(id)).fanoutCursor).toBe('m');
    await fanout.advanceCursor(tenant, id, 'c');
    expect((await eventRow(id)).fanoutCursor).toBe('m');
    await fanout.advanceCursor(tenant, id, 'z');
    expect((await eventRow(id)).fanoutCursor).toBe('z');

    const theirs = await event(other);
    await fanout.advanceCursor(tenant, theirs, 'm');
    expect((await eventRow(theirs)).fanoutCursor).toBeNull();
  });

  it('setStatus ends accepted events as asked, and no other status; never another tenant’s event', async () => {
    const a = await event(tenant);
    const b = await event(tenant);
    const done = await event(tenant, { status: 'cancelled' });
    const theirs = await event(other);
    await fanout.setStatus(tenant, [a, b, done, theirs], 'routed');
    expect((await eventRow(a)).status).toBe('routed');
    expect((await eventRow(b)).status).toBe('routed');
    expect((await eventRow(done)).status).toBe('cancelled');
    expect((await eventRow(theirs)).status).toBe('accepted');
    await fanout.setStatus(tenant, [a], 'unrouted');
    expect((await eventRow(a)).status).toBe('routed');
    await fanout.setStatus(tenant, [], 'routed');
  });
});
