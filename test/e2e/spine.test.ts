import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { openStream } from '../helpers/sse';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('the spine: rule → event → in-app inbox, through HTTP with the workers running', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('spine');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('delivers an event to the inbox and announces it on the live stream', async () => {
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule)).status).toBe(200);
    const token = (await tenant.admin('POST', '/v1/subscribers/alice/inbox-token')).body.token;
    const stream = await openStream(`${herald.url}/v1/inbox/stream?token=${encodeURIComponent(token)}`);
    try {
      const sent = await tenant.ingest('POST', '/v1/events', {
        type: 'order.shipped',
        to: { subscriberId: 'alice', email: 'alice@example.com' },
        data: { orderId: 'A-1' },
      });
      expect(sent.status).toBe(202);
      expect(sent.body).toEqual({ id: expect.any(String), status: 'accepted' });

      const live = await stream.next();
      expect(live.event).toBe('message');
      expect(JSON.parse(live.data)).toMatchObject({
        title: 'Order A-1 shipped',
        body: 'Hi alice, it is on its way',
        url: '/orders/A-1',
      });

      const event = await waitForDeliveries(tenant.ingest, sent.body.id);
      expect(event).toMatchObject({ type: 'order.shipped', status: 'routed' });
      expect(event.deliveries).toEqual([
        expect.objectContaining({
          subscriberId: 'alice',
          channel: 'inapp',
          status: 'sent',
          attempts: [expect.objectContaining({ outcome: 'ok' })],
        }),
      ]);

      const inbox = client(herald.url, token);
      const list = await inbox('GET', '/v1/inbox');
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({ id: JSON.parse(live.data).id, title: 'Order A-1 shipped', data: { orderId: 'A-1' } }),
      ]);
      expect((await inbox('GET', '/v1/inbox/unread-count')).body).toEqual({ count: 1 });
    } finally {
      stream.close();
    }
  });

  it('reads, pages, marks read and archives through an inbox token', async () => {
    await tenant.admin('PUT', '/v1/rules/note', {
      channels: [{ channel: 'inapp', template: { title: 'Note {{ data.n }}', body: 'n={{ data.n }}' } }],
    });
    const ids = [];
    for (let n = 1; n <= 5; n++) {
      ids.push(
        (await tenant.ingest('POST', '/v1/events', { type: 'note', to: { subscriberId: 'bob' }, data: { n } })).body.id,
      );
    }
    for (const id of ids) await waitForDeliveries(tenant.ingest, id);
    const inbox = client(herald.url, (await tenant.admin('POST', '/v1/subscribers/bob/inbox-token')).body.token);

    const first = await inbox('GET', '/v1/inbox?limit=2');
    expect(first.body.items).toHaveLength(2);
    const second = await inbox('GET', `/v1/inbox?limit=2&cursor=${first.body.nextCursor}`);
    const third = await inbox('GET', `/v1/inbox?limit=2&cursor=${second.body.nextCursor}`);
    expect(third.body.nextCursor).toBeUndefined();
    const titles = [...first.body.items, ...second.body.items, ...third.body.items].map(
      (i: { title: string }) => i.title,
    );
    expect(new Set(titles)).toEqual(new Set(['Note 1', 'Note 2', 'Note 3', 'Note 4', 'Note 5']));

    const one = first.body.items[0].id;
    const read = await inbox('POST', `/v1/inbox/${one}/read`);
    expect(read.body).toMatchObject({ id: one, readAt: expect.any(String) });
    expect((await inbox('GET', '/v1/inbox/unread-count')).body).toEqual({ count: 4 });
    expect((await inbox('GET', '/v1/inbox?status=read')).body.items.map((i: { id: string }) => i.id)).toEqual([one]);
    expect((await inbox('POST', `/v1/inbox/${one}/archive`)).status).toBe(200);
    expect((await inbox('GET', '/v1/inbox')).body.items).toHaveLength(4);
    expect((await inbox('POST', '/v1/inbox/read-all')).body).toEqual({ updated: 4 });
    expect((await inbox('GET', '/v1/inbox/unread-count')).body).toEqual({ count: 0 });

    // the same inbox, read by an admin key naming the subscriber
    expect((await tenant.admin('GET', '/v1/inbox?subscriberId=bob')).body.items).toHaveLength(4);
  });

  it('stores an event with no rule as unrouted', async () => {
    const sent = await tenant.ingest('POST', '/v1/events', { type: 'nobody.cares', to: { subscriberId: 'carol' } });
    expect(sent.status).toBe(202);
    const event = await eventually(async () => {
      const e = await tenant.ingest('GET', `/v1/events/${sent.body.id}`);
      return e.body.status === 'unrouted' ? e.body : undefined;
    });
    expect(event.deliveries).toEqual([]);
  });

  it('fans one event out to many recipients, one delivery each', async () => {
    const to = Array.from({ length: 50 }, (_, i) => ({ subscriberId: `crowd-${i}` }));
    const sent = await tenant.ingest('POST', '/v1/events', { type: 'order.shipped', to, data: { orderId: 'B-2' } });
    const event = await waitForDeliveries(tenant.ingest, sent.body.id);
    expect(event.deliveries).toHaveLength(50);
  });

  it('refuses a rule with a broken template (422 naming the part)', async () => {
    const broken = await tenant.admin('PUT', '/v1/rules/x', {
      channels: [{ channel: 'inapp', template: { title: 'ok', body: '{% if data.a %}unclosed' } }],
    });
    expect(broken.status).toBe(422);
    expect(broken.headers.get('content-type')).toContain('application/problem+json');
    expect(broken.body.errors).toEqual([expect.objectContaining({ path: 'channels[0].template.body' })]);
    expect((await tenant.admin('GET', '/v1/rules/x')).status).toBe(404);
  });

  it('lists, reads and deletes rules', async () => {
    expect((await tenant.admin('GET', '/v1/rules')).body.items.map((r: { eventType: string }) => r.eventType)).toEqual(
      expect.arrayContaining(['order.shipped', 'note']),
    );
    expect((await tenant.admin('GET', '/v1/rules/note')).body).toMatchObject({ eventType: 'note', critical: false });
    expect((await tenant.admin('DELETE', '/v1/rules/note')).status).toBe(204);
    expect((await tenant.admin('DELETE', '/v1/rules/note')).status).toBe(404);
  });
});
