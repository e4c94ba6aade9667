import { SandboxHub } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, type TestTenant } from '../helpers/tenant';

const inappAndEmail = (extra: { category?: string; critical?: boolean } = {}) => ({
  ...extra,
  channels: [
    { channel: 'inapp', template: { title: 'Hello {{ subscriber.subscriberId }}', body: '{{ data.n }}' } },
    { channel: 'email', template: { subject: 'Hello {{ subscriber.subscriberId }}', text: '{{ data.n }}' } },
  ],
});

interface DeliveryView {
  subscriberId: string;
  channel: string;
  status: string;
  lastError?: string;
}

describe('subscribers and their preferences, through HTTP with the workers running', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let other: TestTenant;
  let sandboxes: SandboxHub;

  beforeAll(async () => {
    isolated = await isolatedEnv('subscribers');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    other = await createTenant(herald.url);
    sandboxes = herald.app.get(SandboxHub);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  /** Sends one event and waits until each of its `expected` deliveries has left the queue. */
  async function sendAndSettle(t: TestTenant, type: string, to: object, expected: number): Promise<DeliveryView[]> {
    const sent = await t.ingest('POST', '/v1/events', { type, to, data: { n: '1' } });
    expect(sent.status).toBe(202);
    return eventually(
      async () => {
        const deliveries: DeliveryView[] = (await t.ingest('GET', `/v1/events/${sent.body.id}`)).body.deliveries ?? [];
        const settled = deliveries.every((d) => ['sent', 'skipped', 'failed', 'dead'].includes(d.status));
        return deliveries.length === expected && settled ? deliveries : undefined;
      },
      30_000,
      `the ${expected} deliveries of ${type} to settle`,
    );
  }
  const find = (deliveries: DeliveryView[], subscriberId: string, channel: string) =>
    deliveries.find((d) => d.subscriberId === subscriberId && d.channel === channel)!;
  const emailsTo = (address: string) =>
    sandboxes.recorder.list({ channel: 'email', to: address }).filter((r) => r.outcome === 'accepted');

  describe('CRUD', () => {
    it('creates (201), reads, updates (200, merging) and deletes a subscriber with its devices', async () => {
      const created = await tenant.admin('PUT', '/v1/subscribers/crud-ann', {
        email: 'ann@example.com',
        phone: '+15005550006',
        locale: 'fr-FR',
        timezone: 'Europe/Paris',
        data: { plan: 'pro' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        subscriberId: 'crud-ann',
        email: 'ann@example.com',
        phone: '+15005550006',
        locale: 'fr-FR',
        timezone: 'Europe/Paris',
        data: { plan: 'pro' },
        devices: [],
      });

      expect(
        (await tenant.admin('POST', '/v1/subscribers/crud-ann/devices', { token: 'ann-1', platform: 'ios' })).status,
      ).toBe(201);
      const updated = await tenant.admin('PUT', '/v1/subscribers/crud-ann', { locale: 'en-GB', phone: null });
      expect(updated.status).toBe(200);
      expect(updated.body).toMatchObject({ email: 'ann@example.com', locale: 'en-GB', data: { plan: 'pro' } });
      expect(updated.body.phone).toBeUndefined();
      expect(updated.body.devices).toEqual([{ token: 'ann-1', platform: 'ios', active: true }]);

      const read = await tenant.admin('GET', '/v1/subscribers/crud-ann');
      expect(read.status).toBe(200);
      expect(read.body).toEqual(updated.body);

      expect((await tenant.admin('DELETE', '/v1/subscribers/crud-ann')).status).toBe(204);
      expect((await tenant.admin('GET', '/v1/subscribers/crud-ann')).status).toBe(404);
      expect((await tenant.admin('DELETE', '/v1/subscribers/crud-ann')).status).toBe(404);
      // Its devices went with it: the same id comes back without them.
      expect((await tenant.admin('PUT', '/v1/subscribers/crud-ann', {})).body.devices).toEqual([]);
    });

    it('pages newest first with a cursor, without duplicates', async () => {
      const t = await createTenant(herald.url);
      const ids = ['p1', 'p2', 'p3', 'p4', 'p5'];
      for (const id of ids) expect((await t.admin('PUT', `/v1/subscribers/${id}`, {})).status).toBe(201);

      const pages: { subscriberId: string; createdAt: string }[][] = [];
      let cursor: string | undefined;
      do {
        const page = await t.admin('GET', `/v1/subscribers?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        pages.push(page.body.items);
        cursor = page.body.nextCursor;
      } while (cursor && pages.length < 10);

      expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
      const seen = pages.flat();
      expect(new Set(seen.map((s) => s.subscriberId)).size).toBe(5);
      expect(seen.map((s) => s.subscriberId).sort()).toEqual(ids);
      const times = seen.map((s) => Date.parse(s.createdAt));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(seen[0].subscriberId).toBe('p5');

      const bad = await t.admin('GET', '/v1/subscribers?cursor=nonsense');
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'cursor' })]);
    });

    it("answers 404 for another tenant's subscriber and changes nothing", async () => {
      await tenant.admin('PUT', '/v1/subscribers/private-pat', { email: 'pat@example.com' });
      await tenant.admin('PUT', '/v1/subscribers/private-pat/preferences', { channels: { sms: false } });
      const before = (await tenant.admin('GET', '/v1/subscribers/private-pat')).body;

      expect((await other.admin('GET', '/v1/subscribers/private-pat')).status).toBe(404);
      expect((await other.admin('DELETE', '/v1/subscribers/private-pat')).status).toBe(404);
      expect((await other.admin('GET', '/v1/subscribers/private-pat/preferences')).status).toBe(404);
      expect((await other.admin('GET', '/v1/subscribers')).body.items).toEqual([]);

      expect((await tenant.admin('GET', '/v1/subscribers/private-pat')).body).toEqual(before);
      expect((await tenant.admin('GET', '/v1/subscribers/private-pat/preferences')).body).toEqual({
        channels: { sms: false },
        categories: {},
      });
    });

    it('refuses bad input with field paths', async () => {
      const bad = await tenant.admin('PUT', '/v1/subscribers/bad-bob', { email: 'not-an-email', phone: '555' });
      expect(bad.status).toBe(400);
      expect(bad.headers.get('content-type')).toContain('application/problem+json');
      expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['email', 'phone']);
      expect((await tenant.admin('PUT', '/v1/subscribers/bad-bob', { nickname: 'b' })).status).toBe(400);
      expect((await tenant.admin('GET', '/v1/subscribers/bad-bob')).status).toBe(404);

      const prefs = await tenant.admin('PUT', '/v1/subscribers/bad-bob/preferences', {
        channels: { sms: 'no' },
        categories: { marketing: { fax: false } },
      });
      expect(prefs.status).toBe(400);
      expect(prefs.body.errors.map((e: { path: string }) => e.path)).toEqual(['channels.sms', 'categories.marketing']);
      expect((await tenant.admin('GET', '/v1/subscribers?limit=0')).status).toBe(400);
    });
  });

  describe('preferences', () => {
    it('PUT replaces them and creates an unknown subscriber; GET on one never seen is 404', async () => {
      expect((await tenant.admin('GET', '/v1/subscribers/new-nia/preferences')).status).toBe(404);
      const first = await tenant.admin('PUT', '/v1/subscribers/new-nia/preferences', {
        channels: { sms: false },
        categories: { marketing: { email: false } },
      });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ channels: { sms: false }, categories: { marketing: { email: false } } });
      expect((await tenant.admin('GET', '/v1/subscribers/new-nia')).status).toBe(200);

      await tenant.admin('PUT', '/v1/subscribers/new-nia/preferences', { channels: { push: false } });
      expect((await tenant.admin('GET', '/v1/subscribers/new-nia/preferences')).body).toEqual({
        channels: { push: false },
        categories: {},
      });
    });

    it('skips the channel a subscriber opted out of, saying why, and sends the others', async () => {
      await tenant.admin('PUT', '/v1/rules/prefs.plain', inappAndEmail());
      await tenant.admin('PUT', '/v1/subscribers/olivia/preferences', { channels: { email: false } });

      const deliveries = await sendAndSettle(
        tenant,
        'prefs.plain',
        [
          { subscriberId: 'olivia', email: 'olivia@example.com' },
          { subscriberId: 'oscar', email: 'oscar@example.com' },
        ],
        4,
      );
      expect(find(deliveries, 'olivia', 'email')).toMatchObject({
        status: 'skipped',
        lastError: 'the subscriber opted out of email',
      });
      expect(find(deliveries, 'olivia', 'inapp').status).toBe('sent');
      expect(find(deliveries, 'oscar', 'email').status).toBe('sent');
      expect(emailsTo('olivia@example.com')).toEqual([]);
      expect(emailsTo('oscar@example.com')).toHaveLength(1);
    });

    it('applies a category opt-out only to rules of that category', async () => {
      await tenant.admin('PUT', '/v1/rules/promo.launched', inappAndEmail({ category: 'marketing' }));
      await tenant.admin('PUT', '/v1/rules/prefs.plain', inappAndEmail());
      await tenant.admin('PUT', '/v1/subscribers/mia/preferences', { categories: { marketing: { email: false } } });
      const to = { subscriberId: 'mia', email: 'mia@example.com' };

      const promo = await sendAndSettle(tenant, 'promo.launched', to, 2);
      expect(find(promo, 'mia', 'email')).toMatchObject({
        status: 'skipped',
        lastError: 'the subscriber opted out of email for category marketing',
      });
      expect(find(promo, 'mia', 'inapp').status).toBe('sent');

      const plain = await sendAndSettle(tenant, 'prefs.plain', to, 2);
      expect(plain.map((d) => d.status)).toEqual(['sent', 'sent']);
      expect(emailsTo('mia@example.com')).toHaveLength(1);
    });

    it("lets a subscriber's opt-in override the tenant's default opt-out", async () => {
      const t = await createTenant(herald.url);
      const defaults = { categories: { marketing: { email: false } } };
      expect((await t.admin('GET', '/v1/preferences/defaults')).body).toEqual({ channels: {}, categories: {} });
      expect((await t.admin('PUT', '/v1/preferences/defaults', defaults)).body).toEqual({ channels: {}, ...defaults });
      expect((await t.admin('GET', '/v1/preferences/defaults')).body).toEqual({ channels: {}, ...defaults });
      expect((await t.admin('PUT', '/v1/preferences/defaults', { channels: { fax: true } })).status).toBe(400);
      expect((await other.admin('GET', '/v1/preferences/defaults')).body).toEqual({ channels: {}, categories: {} });

      await t.admin('PUT', '/v1/rules/promo.launched', inappAndEmail({ category: 'marketing' }));
      await t.admin('PUT', '/v1/subscribers/keen-kim/preferences', { channels: { email: true } });
      const deliveries = await sendAndSettle(
        t,
        'promo.launched',
        [
          { subscriberId: 'quiet-quinn', email: 'quinn@example.com' },
          { subscriberId: 'keen-kim', email: 'kim@example.com' },
        ],
        4,
      );
      expect(find(deliveries, 'quiet-quinn', 'email')).toMatchObject({
        status: 'skipped',
        lastError: "the tenant's default preferences opt subscribers out of email for category marketing",
      });
      expect(find(deliveries, 'keen-kim', 'email').status).toBe('sent');
      expect(find(deliveries, 'quiet-quinn', 'inapp').status).toBe('sent');
      expect(emailsTo('kim@example.com')).toHaveLength(1);
      expect(emailsTo('quinn@example.com')).toEqual([]);
    });

    it('delivers a critical rule despite every opt-out', async () => {
      await tenant.admin('PUT', '/v1/rules/security.alert', inappAndEmail({ category: 'security', critical: true }));
      await tenant.admin('PUT', '/v1/subscribers/cora/preferences', {
        channels: { email: false, inapp: false },
        categories: { security: { email: false } },
      });
      const deliveries = await sendAndSettle(
        tenant,
        'security.alert',
        { subscriberId: 'cora', email: 'cora@example.com' },
        2,
      );
      expect(deliveries.map((d) => [d.channel, d.status]).sort()).toEqual([
        ['email', 'sent'],
        ['inapp', 'sent'],
      ]);
      expect(emailsTo('cora@example.com')).toHaveLength(1);
    });
  });
});
