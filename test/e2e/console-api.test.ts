import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

/** The two routes the console added: a rule's preview, rendered by the api, and the tenant's overview. */
describe('console API: rule preview and stats', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;

  const rule = {
    channels: [
      {
        channel: 'email',
        template: {
          subject: 'Order {{ data.orderId }} shipped',
          html: '<p>Hi {{ subscriber.subscriberId }}</p>',
          locales: { fr: { subject: 'Commande {{ data.orderId }} expédiée' } },
        },
      },
      { channel: 'sms', template: { body: 'Order {{ data.orderId }} is on its way' } },
      { channel: 'webhook', template: { payload: '{"order": "{{ data.orderId }}"}' } },
    ],
  };

  beforeAll(async () => {
    isolated = await isolatedEnv('console_api');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  describe('POST /v1/rules/:eventType/preview', () => {
    it('renders a rule body per channel, in the sample subscriber’s locale, without saving it', async () => {
      const edited = { channels: [{ ...rule.channels[0], template: { subject: 'Parcel {{ data.orderId }}' } }] };
      const answer = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        rule: edited,
        data: { orderId: '7' },
        subscriber: { subscriberId: 'ann' },
      });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        eventType: 'order.shipped',
        channels: [{ channel: 'email', content: { subject: 'Parcel 7' } }],
      });
      // Nothing was saved.
      const saved = await tenant.admin('GET', '/v1/rules/order.shipped');
      expect(saved.body.channels[0].template.subject).toBe('Order {{ data.orderId }} shipped');

      const french = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        data: { orderId: '8' },
        subscriber: { subscriberId: 'zoe', locale: 'fr-CA' },
      });
      expect(french.body.channels).toEqual([
        { channel: 'email', content: { subject: 'Commande 8 expédiée', html: '<p>Hi zoe</p>' } },
        { channel: 'sms', content: { body: 'Order 8 is on its way' }, segments: 1 },
        { channel: 'webhook', content: { payload: { order: '8' } } },
      ]);
    });

    it("renders one channel's template, and the saved rule for a stored event and subscriber", async () => {
      const one = await tenant.admin('POST', '/v1/rules/anything/preview', {
        channel: { channel: 'inapp', template: { title: 'Hi {{ subscriber.email }}', body: '{{ data.n | plus: 1 }}' } },
        data: { n: 41 },
        subscriber: { email: 'x@example.com' },
      });
      expect(one.body.channels).toEqual([{ channel: 'inapp', content: { title: 'Hi x@example.com', body: '42' } }]);

      const sent = await tenant.ingest('POST', '/v1/events', {
        type: 'order.shipped',
        to: { subscriberId: 'bea', email: 'bea@example.com', phone: '+15005550006', locale: 'fr' },
        data: { orderId: 'A-1' },
      });
      // Once fanned out, bea is a stored subscriber (eventually waits for a value other than undefined: 0 is one).
      await eventually(
        async () => (await tenant.ingest('GET', `/v1/events/${sent.body.id}`)).body.deliveries?.length || undefined,
      );
      const stored = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        eventId: sent.body.id,
        subscriberId: 'bea',
      });
      expect(stored.status).toBe(200);
      expect(stored.body.channels[0]).toEqual({
        channel: 'email',
        content: { subject: 'Commande A-1 expédiée', html: '<p>Hi bea</p>' },
      });
      // The default webhook body (no payload template) is the event envelope.
      const envelope = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        channel: { channel: 'webhook', template: {} },
        eventId: sent.body.id,
      });
      expect(envelope.body.channels[0].content.payload).toEqual({
        id: sent.body.id,
        type: 'order.shipped',
        timestamp: expect.any(String),
        data: { orderId: 'A-1' },
      });
    });

    it('answers 422 naming the part for a template that does not parse or render', async () => {
      const broken = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        rule: { channels: [{ channel: 'sms', template: { body: 'Hi {{ data.name ' } }] },
      });
      expect(broken.status).toBe(422);
      expect(broken.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(broken.body).toMatchObject({
        type: '/problems/invalid-rule',
        errors: [{ path: 'rule.channels[0].template.body', message: expect.stringContaining('Liquid') }],
      });
      const notJson = await tenant.admin('POST', '/v1/rules/order.shipped/preview', {
        channel: { channel: 'webhook', template: { payload: '{"order": {{ data.orderId }}' } },
        data: { orderId: 'x' },
      });
      expect(notJson.status).toBe(422);
      expect(notJson.body.errors).toEqual([
        { path: 'channel.template.payload', message: expect.stringMatching(/JSON/) },
      ]);
    });

    it('validates its input and keeps to the tenant', async () => {
      const both = await tenant.admin('POST', '/v1/rules/order.shipped/preview', { rule, channel: rule.channels[1] });
      expect(both.status).toBe(400);
      expect(both.body.errors).toEqual([expect.objectContaining({ path: 'channel' })]);
      expect((await tenant.admin('POST', '/v1/rules/order.shipped/preview', { extra: 1 })).status).toBe(400);
      expect((await tenant.admin('POST', '/v1/rules/no.rule/preview', {})).status).toBe(404);
      expect((await tenant.admin('POST', '/v1/rules/order.shipped/preview', { subscriberId: 'nobody' })).status).toBe(
        404,
      );
      expect((await tenant.ingest('POST', '/v1/rules/order.shipped/preview', {})).status).toBe(403);

      const other = await createTenant(herald.url);
      const theirs = await other.ingest('POST', '/v1/events', { type: 'order.shipped', to: { subscriberId: 'o' } });
      const answer = await tenant.admin('POST', '/v1/rules/order.shipped/preview', { eventId: theirs.body.id });
      expect(answer.status).toBe(404);
      expect(JSON.stringify(answer.body)).not.toContain('data');
    });
  });

  describe('GET /v1/stats', () => {
    it("counts the tenant's recent deliveries by channel and status, with queue depths and the outbox lag", async () => {
      const own = await createTenant(herald.url);
      await own.admin('PUT', '/v1/rules/ping', {
        channels: [{ channel: 'inapp', template: { title: 'Ping', body: 'Ping' } }],
      });
      const ids: string[] = [];
      for (const who of ['a', 'b', 'c']) {
        ids.push((await own.ingest('POST', '/v1/events', { type: 'ping', to: { subscriberId: who } })).body.id);
      }
      for (const id of ids) await waitForDeliveries(own.ingest, id, 'sent');

      const stats = await own.admin('GET', '/v1/stats?window=24h');
      expect(stats.status).toBe(200);
      expect(stats.body.window).toBe('24h');
      expect(stats.body.deliveries).toEqual([{ channel: 'inapp', status: 'sent', count: 3 }]);
      expect(stats.body.outbox).toEqual({ pending: 0, lagSeconds: 0 });
      const names = stats.body.queues.map((q: { name: string }) => q.name);
      expect(names).toEqual(expect.arrayContaining(['fanout', 'deliver.email', 'deliver.inapp', 'dead-letter']));
      for (const queue of stats.body.queues) {
        expect(queue).toEqual({
          name: expect.any(String),
          available: true,
          jobs: {
            waiting: expect.any(Number),
            prioritized: expect.any(Number),
            delayed: expect.any(Number),
            active: expect.any(Number),
            failed: expect.any(Number),
          },
        });
      }
      expect((await own.admin('GET', '/v1/stats')).body.window).toBe('1h');
    });

    it('refuses an unknown window and keys without admin scope', async () => {
      const bad = await tenant.admin('GET', '/v1/stats?window=7d');
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'query.window' })]);
      expect((await tenant.ingest('GET', '/v1/stats')).status).toBe(403);
    });
  });
});
