import { newId, type Channel } from '@herald/core';
import { DeliveryContextRepository, suppressionKey, type ClaimedDelivery } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** DeliveryContextRepository against Postgres: the reads for a batch of claimed deliveries. */
describe('DeliveryContextRepository', () => {
  let db: RepositoryDb;
  let context: DeliveryContextRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-delivery-context');
    context = new DeliveryContextRepository(db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  async function event(tenantId: string, type = 'greet', data: unknown = { name: 'Ann' }): Promise<string> {
    const id = newId();
    await db.pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, data, status, correlation_id)
       VALUES ($1, $2, $3, '[]', $4, 'routed', 'corr-1')`,
      [id, tenantId, type, JSON.stringify(data)],
    );
    return id;
  }
  /** A claimed delivery as the worker holds it (its row in `deliveries` is not read). */
  const claimed = (
    tenantId: string,
    eventId: string,
    to: { subscriberId?: string; endpointId?: string; channel?: Channel },
  ): ClaimedDelivery => ({
    id: newId(),
    tenantId,
    eventId,
    subscriberId: to.subscriberId ?? null,
    endpointId: to.endpointId ?? null,
    channel: to.channel ?? (to.endpointId ? 'webhook' : 'email'),
    attempt: 1,
    attemptFloor: 0,
    leased: true,
  });
  async function subscriber(
    tenantId: string,
    subscriberId: string,
    fields: { email?: string; quietHours?: unknown } = {},
  ) {
    await db.pool.query(
      `INSERT INTO subscribers (id, tenant_id, subscriber_id, email, phone, locale, timezone, data, quiet_hours)
       VALUES ($1, $2, $3, $4, '+15550001111', 'fr', 'Europe/Paris', '{"plan":"pro"}', $5)`,
      [
        newId(),
        tenantId,
        subscriberId,
        fields.email ?? `${subscriberId}@example.com`,
        fields.quietHours ? JSON.stringify(fields.quietHours) : null,
      ],
    );
  }

  describe('load', () => {
    it('reads each delivery’s event, rule, tenant, subscriber and quiet hours, in one map by delivery id', async () => {
      const t = await db.tenant('load');
      const tenantQuiet = { start: '22:00', end: '07:00' };
      const ownQuiet = { start: '20:00', end: '08:00' };
      await db.pool.query(
        `UPDATE tenants SET rate_limits = '{"email":{"perMinute":5}}', sms_from = $2, quiet_hours = $3 WHERE id = $1`,
        [t, '+15550009999', JSON.stringify(tenantQuiet)],
      );
      const channels = [{ channel: 'email', template: { subject: 'Hi', text: 'x' } }];
      await db.pool.query(
        `INSERT INTO rules (id, tenant_id, event_type, channels, critical) VALUES ($1, $2, 'greet', $3, true)`,
        [newId(), t, JSON.stringify(channels)],
      );
      await subscriber(t, 'ann');
      await subscriber(t, 'bob', { quietHours: ownQuiet });
      const greet = await event(t);
      const unruled = await event(t, 'no.rule');
      const toAnn = claimed(t, greet, { subscriberId: 'ann' });
      const toBob = claimed(t, greet, { subscriberId: 'bob' });
      const toNobody = claimed(t, unruled, { subscriberId: 'nobody' });

      const rows = await context.load(t, [toAnn, toBob, toNobody]);
      expect([...rows.keys()].sort()).toEqual([toAnn.id, toBob.id, toNobody.id].sort());
      expect(rows.get(toAnn.id)).toEqual({
        id: toAnn.id,
        event: {
          type: 'greet',
          data: { name: 'Ann' },
          status: 'routed',
          createdAt: expect.any(Date),
          correlationId: 'corr-1',
        },
        channels,
        critical: true,
        tenant: { rateLimits: { email: { perMinute: 5 } }, smsFrom: '+15550009999', revoked: false },
        subscriber: {
          email: 'ann@example.com',
          phone: '+15550001111',
          locale: 'fr',
          timezone: 'Europe/Paris',
          data: { plan: 'pro' },
        },
        quietHours: tenantQuiet,
        digestId: null,
        endpoint: null,
      });
      expect(rows.get(toBob.id)!.quietHours).toEqual(ownQuiet);
      expect(rows.get(toNobody.id)).toMatchObject({
        channels: null,
        critical: false,
        subscriber: null,
        quietHours: tenantQuiet,
      });
    });

    it('reads a webhook delivery’s endpoint, a digest’s id, a suspended tenant; no entry when the event is gone', async () => {
      const t = await db.tenant('load-2');
      const endpointId = newId();
      await db.pool.query(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, secret, event_types, active, disabled_reason, consecutive_failures)
         VALUES ($1, $2, 'https://example.com/hook', 'whsec', '{greet}', false, 'too many failures', 3)`,
        [endpointId, t],
      );
      const greet = await event(t);
      const hook = claimed(t, greet, { endpointId });
      const digest = claimed(t, greet, { subscriberId: 'ann' });
      const digestId = newId();
      await db.pool.query(
        `INSERT INTO digests (id, tenant_id, subscriber_id, channel, digest_key, window_end, delivery_id)
         VALUES ($1, $2, 'ann', 'email', 'daily', now(), $3)`,
        [digestId, t, digest.id],
      );
      const gone = claimed(t, newId(), { subscriberId: 'ann' });
      await db.pool.query('UPDATE tenants SET revoked_at = now() WHERE id = $1', [t]);

      const rows = await context.load(t, [hook, digest, gone]);
      expect([...rows.keys()].sort()).toEqual([hook.id, digest.id].sort());
      expect(rows.get(hook.id)).toMatchObject({
        subscriber: null,
        tenant: { revoked: true, rateLimits: {}, smsFrom: null },
        endpoint: {
          url: 'https://example.com/hook',
          secret: 'whsec',
          active: false,
          disabledReason: 'too many failures',
          failures: 3,
          eventTypes: ['greet'],
        },
      });
      expect(rows.get(digest.id)).toMatchObject({ digestId, endpoint: null });
      expect((await context.load(t, [])).size).toBe(0);
    });

    it('reads nothing of another tenant: not its events, nor its subscriber or endpoint of the ids named', async () => {
      const theirEndpoint = newId();
      await db.pool.query(
        `INSERT INTO webhook_endpoints (id, tenant_id, url, secret) VALUES ($1, $2, 'https://theirs.example.com', 'theirs')`,
        [theirEndpoint, other],
      );
      await subscriber(other, 'cat');
      const theirEvent = await event(other);
      expect((await context.load(tenant, [claimed(tenant, theirEvent, { subscriberId: 'cat' })])).size).toBe(0);

      const mine = await event(tenant);
      const toCat = claimed(tenant, mine, { subscriberId: 'cat' });
      const toTheirHook = claimed(tenant, mine, { endpointId: theirEndpoint });
      const rows = await context.load(tenant, [toCat, toTheirHook]);
      expect(rows.get(toCat.id)!.subscriber).toBeNull();
      expect(rows.get(toTheirHook.id)!.endpoint).toBeNull();
    });
  });

  describe('suppressions', () => {
    async function suppress(tenantId: string, channel: string, address: string, expiresAt: Date | null = null) {
      await db.pool.query(
        `INSERT INTO suppressions (id, tenant_id, channel, address, reason, source, expires_at)
         VALUES ($1, $2, $3, $4, 'bounce', 'ses', $5)`,
        [newId(), tenantId, channel, address, expiresAt],
      );
    }

    it('answers the live suppressions among the addresses, normalized, keyed by channel and address', async () => {
      const t = await db.tenant('suppressions');
      await suppress(t, 'email', 'Ann@example.com');
      await suppress(t, 'sms', '+15550002222');
      await suppress(t, 'email', 'expired@example.com', new Date(Date.now() - 60_000));
      await suppress(t, 'email', 'later@example.com', new Date(Date.now() + 60_000));
      await suppress(t, 'sms', 'bob@example.com');
      const hits = await context.suppressions(t, [
        { channel: 'email', address: ' Ann@EXAMPLE.com ' },
        { channel: 'sms', address: '+1 555 000 2222' },
        { channel: 'email', address: 'expired@example.com' },
        { channel: 'email', address: 'later@example.com' },
        { channel: 'email', address: 'bob@example.com' },
        { channel: 'email', address: 'not an address' },
      ]);
      expect(hits).toEqual(
        new Map([
          [suppressionKey('email', 'Ann@example.com'), { reason: 'bounce', source: 'ses' }],
          [suppressionKey('sms', '+15550002222'), { reason: 'bounce', source: 'ses' }],
          [suppressionKey('email', 'later@example.com'), { reason: 'bounce', source: 'ses' }],
        ]),
      );
      expect(await context.suppressions(t, [])).toEqual(new Map());
      expect(await context.suppressions(t, [{ channel: 'sms', address: 'nope' }])).toEqual(new Map());
    });

    it('does not read another tenant’s suppression of the address', async () => {
      await suppress(other, 'email', 'theirs@example.com');
      expect(await context.suppressions(tenant, [{ channel: 'email', address: 'theirs@example.com' }])).toEqual(
        new Map(),
      );
      expect((await context.suppressions(other, [{ channel: 'email', address: 'theirs@example.com' }])).size).toBe(1);
    });
  });

  it('activeTokens: the subscribers’ active push tokens, oldest device first; none of another tenant’s', async () => {
    const t = await db.tenant('tokens');
    const device = async (tenantId: string, subscriberId: string, token: string, age: number, active = true) =>
      db.pool.query(
        `INSERT INTO devices (id, tenant_id, subscriber_id, token, platform, active, created_at)
         VALUES ($1, $2, $3, $4, 'ios', $5, now() - make_interval(secs => $6))`,
        [newId(), tenantId, subscriberId, token, active, age],
      );
    await device(t, 'ann', 'ann-new', 10);
    await device(t, 'ann', 'ann-old', 60);
    await device(t, 'ann', 'ann-off', 30, false);
    await device(t, 'bob', 'bob-1', 5);
    await device(t, 'unasked', 'x', 5);
    await device(other, 'ann', 'theirs', 100);
    expect(await context.activeTokens(t, ['ann', 'bob', 'nobody'])).toEqual(
      new Map([
        ['ann', ['ann-old', 'ann-new']],
        ['bob', ['bob-1']],
      ]),
    );
    expect(await context.activeTokens(t, [])).toEqual(new Map());
  });
});
