import { Webhook } from 'standardwebhooks';
import { SandboxHub, type SandboxRecord, type WebhookReceiver } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const allChannels = {
  channels: [
    {
      channel: 'email',
      template: {
        subject: 'Order {{ data.orderId }} shipped',
        html: '<p>Hi <b>{{ subscriber.subscriberId }}</b>, order {{ data.orderId }} is on its way.</p>',
      },
    },
    { channel: 'sms', template: { body: 'Order {{ data.orderId }} shipped' } },
    {
      channel: 'push',
      template: { title: 'Shipped', body: 'Order {{ data.orderId }}', data: { orderId: '{{ data.orderId }}' } },
    },
    { channel: 'inapp', template: { title: 'Order {{ data.orderId }} shipped', body: 'On its way' } },
    { channel: 'webhook', template: {} },
  ],
};

describe('all five channels through the real SDKs and the sandboxes', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let sandboxes: SandboxHub;
  let receiver: WebhookReceiver;
  let endpoint: { id: string; secret: string };

  beforeAll(async () => {
    isolated = await isolatedEnv('channels');
    herald = await startHerald({ env: { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    tenant = await createTenant(herald.url);
    sandboxes = herald.app.get(SandboxHub);
    receiver = await sandboxes.webhookReceiver();
    endpoint = (
      await tenant.admin('POST', '/v1/webhook-endpoints', {
        url: receiver.urlFor('/hooks/orders'),
        eventTypes: ['order.shipped'],
      })
    ).body;
    receiver.setSecret(endpoint.secret);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', allChannels)).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  const sent = (channel: SandboxRecord['channel'], to: string) =>
    sandboxes.recorder.list({ channel, to }).filter((r) => r.outcome === 'accepted');

  it('one event reaches email, SMS, push, in-app and webhook', async () => {
    const answer = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: {
        subscriberId: 'ada',
        email: 'ada@example.com',
        phone: '+15005550006',
        pushTokens: [{ token: 'ada-phone-1', platform: 'android' }],
      },
      data: { orderId: 'O-1' },
    });
    expect(answer.status).toBe(202);
    const event = await waitForDeliveries(tenant.ingest, answer.body.id, 'sent', 30_000);
    expect(event.deliveries.map((d: { channel: string }) => d.channel).sort()).toEqual([
      'email',
      'inapp',
      'push',
      'sms',
      'webhook',
    ]);
    for (const d of event.deliveries) expect(d.attempts).toEqual([expect.objectContaining({ outcome: 'ok' })]);

    const [email] = sent('email', 'ada@example.com');
    expect(email.summary).toBe('Order O-1 shipped');
    expect(String(email.detail.text)).toContain('order O-1 is on its way');
    expect(sent('sms', '+15005550006').map((r) => r.summary)).toEqual(['Order O-1 shipped']);
    expect(sent('push', 'ada-phone-1').map((r) => r.summary)).toEqual(['Shipped']);
    const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=ada');
    expect(inbox.body.items.map((i: { title: string }) => i.title)).toEqual(['Order O-1 shipped']);

    const [hook] = receiver.requests().filter((r) => JSON.parse(String(r.body)).id === answer.body.id);
    const webhookDelivery = event.deliveries.find((d: { channel: string }) => d.channel === 'webhook');
    expect(hook.headers['webhook-id']).toBe(webhookDelivery.id);
    // Verified by an implementation we did not write.
    const verified = new Webhook(endpoint.secret.replace(/^whsec_/, '')).verify(
      String(hook.body),
      hook.headers as Record<string, string>,
    );
    expect(verified).toMatchObject({ id: answer.body.id, type: 'order.shipped', data: { orderId: 'O-1' } });
  });

  it.each([
    ['email', 'bounce@example.com', 'failed', 'bad_address', '550'],
    ['email', 'reject-data@example.com', 'failed', 'permanent', '554'],
    ['sms', '+15005550001', 'failed', 'bad_address', '21211'],
    ['sms', '+15005550004', 'failed', 'bad_address', '21610'],
    ['sms', '+15005550009', 'failed', 'bad_address', '21614'],
    ['sms', '+15005550003', 'failed', 'permanent', '21408'],
  ])('%s to %s ends %s with a %s attempt (%s)', async (channel, address, status, outcome, code) => {
    const rule = allChannels.channels.find((c) => c.channel === channel)!;
    const type = `bad.${channel}.${code}`;
    await tenant.admin('PUT', `/v1/rules/${type}`, { channels: [rule] });
    const to =
      channel === 'email'
        ? { subscriberId: `s-${code}`, email: address }
        : { subscriberId: `s-${code}`, phone: address };
    const answer = await tenant.ingest('POST', '/v1/events', { type, to, data: { orderId: code } });
    const event = await waitForDeliveries(tenant.ingest, answer.body.id, status, 30_000);
    expect(event.deliveries[0].attempts).toEqual([expect.objectContaining({ outcome, code })]);
  });

  it("push: a dead token is deactivated at once while the subscriber's other device still receives", async () => {
    await tenant.admin('PUT', '/v1/rules/push.only', { channels: [allChannels.channels[2]] });
    const to = {
      subscriberId: 'pat',
      pushTokens: [
        { token: 'unregistered-pat-old', platform: 'ios' },
        { token: 'pat-new', platform: 'ios' },
      ],
    };
    const first = await tenant.ingest('POST', '/v1/events', { type: 'push.only', to, data: { orderId: 'P-1' } });
    const event = await waitForDeliveries(tenant.ingest, first.body.id, 'sent', 30_000);
    expect(event.deliveries[0].attempts[0].message).toMatch(/unregistered-p.*bad_address/);
    expect(sent('push', 'pat-new')).toHaveLength(1);

    const second = await tenant.ingest('POST', '/v1/events', {
      type: 'push.only',
      to: { subscriberId: 'pat' },
      data: { orderId: 'P-2' },
    });
    await waitForDeliveries(tenant.ingest, second.body.id, 'sent', 30_000);
    expect(sandboxes.recorder.list({ channel: 'push', to: 'unregistered-pat-old' })).toHaveLength(1);
    expect(sent('push', 'pat-new')).toHaveLength(2);
  });

  it('a retryable failure is retried with backoff and then delivered, with both attempts recorded', async () => {
    await tenant.admin('PUT', '/v1/rules/email.only', { channels: [allChannels.channels[0]] });
    (await sandboxes.smtp()).failNext(1, 451, 'try again later');
    const answer = await tenant.ingest('POST', '/v1/events', {
      type: 'email.only',
      to: { subscriberId: 'rey', email: 'rey@example.com' },
      data: { orderId: 'R-1' },
    });
    const event = await waitForDeliveries(tenant.ingest, answer.body.id, 'sent', 30_000);
    expect(event.deliveries[0].attempts).toEqual([
      expect.objectContaining({ outcome: 'retryable', code: '451' }),
      expect.objectContaining({ outcome: 'ok' }),
    ]);
  });

  it('webhook: 410 disables the endpoint; later deliveries to it are skipped with the reason', async () => {
    const gone = (
      await tenant.admin('POST', '/v1/webhook-endpoints', {
        url: receiver.urlFor('/hooks/gone'),
        eventTypes: ['hook.only'],
      })
    ).body;
    receiver.respondWith('/hooks/gone', 410);
    await tenant.admin('PUT', '/v1/rules/hook.only', { channels: [{ channel: 'webhook', template: {} }] });
    const first = await tenant.ingest('POST', '/v1/events', { type: 'hook.only', to: { subscriberId: 'x' } });
    const failed = await waitForDeliveries(tenant.ingest, first.body.id, 'failed', 30_000);
    expect(failed.deliveries[0].attempts).toEqual([expect.objectContaining({ outcome: 'bad_address', code: '410' })]);
    expect((await tenant.admin('GET', `/v1/webhook-endpoints/${gone.id}`)).body).toMatchObject({ active: false });

    // Disabled endpoints get no new deliveries; re-enabled ones do.
    const second = await tenant.ingest('POST', '/v1/events', { type: 'hook.only', to: { subscriberId: 'x' } });
    await eventually(async () =>
      (await tenant.ingest('GET', `/v1/events/${second.body.id}`)).body.status === 'routed' ? true : undefined,
    );
    expect((await tenant.ingest('GET', `/v1/events/${second.body.id}`)).body.deliveries).toEqual([]);
    expect((await tenant.admin('PATCH', `/v1/webhook-endpoints/${gone.id}`, { active: true })).body).toMatchObject({
      active: true,
    });
  });

  it("webhook subscriptions: an endpoint gets the types it names, rule or not; one naming none only a rule's webhook", async () => {
    const hook = async (path: string, eventTypes?: string[]) =>
      (await tenant.admin('POST', '/v1/webhook-endpoints', { url: receiver.urlFor(path), eventTypes })).body as {
        id: string;
      };
    const named = await hook('/hooks/sub/named', ['sub.norule', 'sub.inapp', 'sub.payload']);
    const everything = await hook('/hooks/sub/everything');
    const other = await hook('/hooks/sub/other', ['sub.elsewhere']);
    expect(
      (
        await tenant.admin('PUT', '/v1/rules/sub.inapp', {
          channels: [{ channel: 'inapp', template: { title: 't', body: 'b' } }],
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await tenant.admin('PUT', '/v1/rules/sub.payload', {
          channels: [{ channel: 'webhook', template: { payload: '{"order": "{{ data.orderId }}"}' } }],
        })
      ).status,
    ).toBe(200);
    const send = async (type: string) =>
      (await tenant.ingest('POST', '/v1/events', { type, to: { subscriberId: 'sub-1' }, data: { orderId: type } })).body
        .id as string;
    const [noRule, inappOnly, withPayload] = [
      await send('sub.norule'),
      await send('sub.inapp'),
      await send('sub.payload'),
    ];
    const unnamed = await send('sub.unnamed');

    const endpointsOf = async (eventId: string, count: number) => {
      const event = await waitForDeliveries(tenant.ingest, eventId, 'sent', 30_000);
      expect(event.deliveries).toHaveLength(count);
      return event.deliveries.flatMap((d: { endpointId?: string }) => (d.endpointId ? [d.endpointId] : [])).sort();
    };
    // No rule at all: the naming endpoint gets the event's envelope, and the event is routed, not unrouted.
    expect(await endpointsOf(noRule, 1)).toEqual([named.id]);
    expect((await tenant.ingest('GET', `/v1/events/${noRule}`)).body.status).toBe('routed');
    // A rule without a webhook channel: its in-app message, and the envelope to the naming endpoint.
    expect(await endpointsOf(inappOnly, 2)).toEqual([named.id]);
    // A rule's webhook channel: its payload, to the naming endpoint and to the one naming no type, once each.
    expect(await endpointsOf(withPayload, 2)).toEqual([named.id, everything.id].sort());
    // Nobody names the type and no rule: nothing is sent.
    await eventually(async () =>
      (await tenant.ingest('GET', `/v1/events/${unnamed}`)).body.status === 'unrouted' ? true : undefined,
    );

    const bodies = (path: string) =>
      receiver
        .requests()
        .filter((r) => r.path === path)
        .map((r) => r.json as { id?: string; type?: string; order?: string });
    expect(bodies('/hooks/sub/named')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: noRule, type: 'sub.norule', data: { orderId: 'sub.norule' } }),
        expect.objectContaining({ id: inappOnly, type: 'sub.inapp' }),
        { order: 'sub.payload' },
      ]),
    );
    expect(bodies('/hooks/sub/named')).toHaveLength(3);
    expect(bodies('/hooks/sub/everything')).toEqual([{ order: 'sub.payload' }]);
    expect(bodies('/hooks/sub/other')).toEqual([]);
    expect(other.id).toBeDefined();
  });

  it('shows what was sent on the /sandbox page', async () => {
    const page = await fetch(`${herald.url}/sandbox`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('ada@example.com');
    expect(html).toContain('Order O-1 shipped');
  });
});
