import { signWebhook } from '@herald/channels';
import { signInboxToken } from '@herald/core';
import { InboxService } from '../../apps/api/src/inbox/inbox.service';
import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually, type Client } from '../helpers/http';
import { openStream, type SseMessage } from '../helpers/sse';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

type Stream = Awaited<ReturnType<typeof openStream>>;

/**
 * An inbox stream lives no longer than what let it in (issue 17, defect 6): it ends at its token's
 * expiry, and when the key that issued the token or its tenant is revoked — on every api replica —
 * while the token's REST calls get 401 from then on. A client that reconnects with the last id it saw
 * (Last-Event-ID, or ?after=) gets what it missed, then the live messages, each exactly once (DECISIONS #6).
 */
describe('inbox streams end with their token, key or tenant; reconnects replay what was missed', () => {
  let isolated: IsolatedEnv;
  let apiA: RunningHerald;
  let apiB: RunningHerald;
  let workers: RunningHerald;
  const open: Stream[] = [];

  beforeAll(async () => {
    isolated = await isolatedEnv('inbox-lifetime');
    apiA = await startHerald({ roles: [], env: isolated.env });
    apiB = await startHerald({ roles: [], env: isolated.env });
    workers = await startHerald({ api: false, roles: ['relay', 'fanout', 'inapp'], env: isolated.env });
  });
  afterEach(() => {
    for (const stream of open.splice(0)) stream.close();
  });
  afterAll(async () => {
    await Promise.all([apiA?.close(), apiB?.close(), workers?.close()]);
    await isolated?.drop();
  });

  async function stream(api: RunningHerald, path: string, headers: Record<string, string> = {}): Promise<Stream> {
    const opened = await openStream(`${api.url}${path}`, headers);
    open.push(opened);
    return opened;
  }
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const tokenOf = async (issuer: Client, subscriberId: string) =>
    (await issuer('POST', `/v1/subscribers/${subscriberId}/inbox-token`)).body.token as string;
  const adminKeyId = async (tenant: TestTenant) =>
    (await tenant.admin('GET', '/v1/keys')).body.items.find((k: { scope: string }) => k.scope === 'admin').id;

  /** Sends one in-app message to `subscriberId` and waits until it is in the inbox; returns its id. */
  async function deliver(tenant: TestTenant, subscriberId: string, orderId: string): Promise<string> {
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId },
      data: { orderId },
    });
    expect(sent.status).toBe(202);
    const event = await waitForDeliveries(tenant.ingest, sent.body.id);
    return event.deliveries[0].id;
  }

  /** The next message that is not a live inbox message: how the server ended the stream. */
  async function endOf(s: Stream): Promise<SseMessage> {
    for (;;) {
      const message = await s.next(30_000);
      if (message.event !== 'message') {
        await s.ended;
        return message;
      }
    }
  }

  async function newTenant(): Promise<TestTenant> {
    const tenant = await createTenant(apiA.url);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule)).status).toBe(200);
    return tenant;
  }

  it('ends a stream at its token’s expiry with `event: expired`; the token then gets 401', async () => {
    const tenant = await newTenant();
    const exp = Math.floor(Date.now() / 1000) + 3;
    // Signed here: the shortest token the api issues lives a minute.
    const token = signInboxToken(
      { tenantId: tenant.id, subscriberId: 'eve', exp, keyId: await adminKeyId(tenant) },
      apiA.config.tokenSecret,
    );
    const onA = await stream(apiA, '/v1/inbox/stream', bearer(token));
    const onB = await stream(apiB, `/v1/inbox/stream?token=${encodeURIComponent(token)}`);
    expect((await client(apiA.url, token)('GET', '/v1/inbox')).status).toBe(200);

    expect(await endOf(onA)).toEqual({ event: 'expired', data: '{}' });
    expect(await endOf(onB)).toEqual({ event: 'expired', data: '{}' });
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    expect((await client(apiA.url, token)('GET', '/v1/inbox')).status).toBe(401);
  });

  it('revoking the key that issued a token ends its streams on every replica and refuses it there', async () => {
    const tenant = await newTenant();
    const second = (await tenant.admin('POST', '/v1/keys', { scope: 'admin' })).body as { id: string; key: string };
    const secondKey = client(apiA.url, second.key);
    const doomed = await tokenOf(secondKey, 'finn');
    const kept = await tokenOf(tenant.admin, 'finn');

    const tokenOnA = await stream(apiA, '/v1/inbox/stream', bearer(doomed));
    const tokenOnB = await stream(apiB, `/v1/inbox/stream?token=${encodeURIComponent(doomed)}`);
    const keyOnB = await stream(apiB, '/v1/inbox/stream?subscriberId=finn', bearer(second.key));
    const keptOnB = await stream(apiB, '/v1/inbox/stream', bearer(kept));
    expect((await client(apiB.url, doomed)('GET', '/v1/inbox')).status).toBe(200);

    expect((await tenant.admin('DELETE', `/v1/keys/${second.id}`)).status).toBe(204);
    // On A at once; on B at its next revocation poll.
    expect((await client(apiA.url, doomed)('GET', '/v1/inbox')).status).toBe(401);
    expect((await secondKey('GET', '/v1/keys')).status).toBe(401);
    for (const s of [tokenOnA, tokenOnB, keyOnB]) expect(await endOf(s)).toEqual({ event: 'revoked', data: '{}' });
    await eventually(
      async () => ((await client(apiB.url, doomed)('GET', '/v1/inbox')).status === 401 ? true : undefined),
      15_000,
      'the revoked key’s token refused on the other replica',
    );
    expect((await client(apiB.url, second.key)('GET', '/v1/keys')).status).toBe(401);

    // A token of another key of the tenant goes on.
    const id = await deliver(tenant, 'finn', 'F-1');
    expect((await keptOnB.next()).id).toBe(id);
    expect((await client(apiB.url, kept)('GET', '/v1/inbox')).status).toBe(200);
  });

  it('revoking a tenant refuses its keys and tokens, old ones too, and ends its streams on every replica', async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const root = client(apiA.url, TEST_ROOT_KEY);
    const token = await tokenOf(tenant.admin, 'gus');
    // A token from before tokens named the key that issued them.
    const unkeyed = signInboxToken(
      { tenantId: tenant.id, subscriberId: 'gus', exp: Math.floor(Date.now() / 1000) + 600 },
      apiA.config.tokenSecret,
    );
    const streams = [
      await stream(apiA, '/v1/inbox/stream', bearer(token)),
      await stream(apiB, '/v1/inbox/stream', bearer(unkeyed)),
      await stream(apiB, '/v1/inbox/stream?subscriberId=gus', bearer(tenant.keys.admin)),
    ];
    const otherStream = await stream(apiB, '/v1/inbox/stream', bearer(await tokenOf(other.admin, 'gus')));
    expect((await client(apiB.url, tenant.keys.ingest)('GET', '/v1/events')).status).toBe(200);
    // An inbound hook source of the tenant: signed posts become events until the tenant is suspended.
    const source = (
      await tenant.admin('POST', '/v1/sources', {
        name: 'shop',
        eventType: 'order.shipped',
        mapping: { subscriberId: '/user' },
      })
    ).body as { id: string; secret: string };
    let hookId = 0;
    const hook = () => {
      const payload = JSON.stringify({ user: 'gus' });
      const headers = signWebhook({
        id: `msg_${++hookId}`,
        timestamp: Math.floor(Date.now() / 1000),
        payload,
        secret: source.secret,
      });
      return client(apiB.url)('POST', `/v1/hooks/${source.id}`, payload, { ...headers });
    };
    expect((await hook()).status).toBe(202);

    expect((await tenant.admin('DELETE', `/v1/tenants/${tenant.id}`)).status).toBe(403);
    expect((await root('DELETE', '/v1/tenants/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await root('DELETE', '/v1/tenants/not-a-uuid')).status).toBe(404);
    expect((await root('DELETE', `/v1/tenants/${tenant.id}`)).status).toBe(204);
    expect((await root('DELETE', `/v1/tenants/${tenant.id}`)).status).toBe(404);

    for (const s of streams) expect(await endOf(s)).toEqual({ event: 'revoked', data: '{}' });
    for (const api of [apiA, apiB]) {
      await eventually(
        async () => {
          const statuses = [
            (await client(api.url, tenant.keys.admin)('GET', '/v1/keys')).status,
            (
              await client(api.url, tenant.keys.ingest)('POST', '/v1/events', {
                type: 'order.shipped',
                to: { subscriberId: 'gus' },
              })
            ).status,
            (await client(api.url, token)('GET', '/v1/inbox')).status,
            (await client(api.url, unkeyed)('GET', '/v1/inbox')).status,
          ];
          return statuses.every((s) => s === 401) ? statuses : undefined;
        },
        15_000,
        `every credential of the revoked tenant refused on ${api === apiA ? 'A' : 'B'}`,
      );
    }
    expect(await streamAnswer(apiB, token)).toBe(401);
    expect((await hook()).status).toBe(404);

    // The other tenant goes on.
    const id = await deliver(other, 'gus', 'G-1');
    expect((await otherStream.next()).id).toBe(id);
  });

  /** The status a new stream is answered with. */
  async function streamAnswer(api: RunningHerald, token: string): Promise<number> {
    return stream(api, '/v1/inbox/stream', bearer(token)).then(
      () => 200,
      (err: Error) => Number(/answered (\d+)/.exec(err.message)?.[1]),
    );
  }

  it('replays after Last-Event-ID what the inbox got while the client was away, then goes live: each once, in order', async () => {
    const tenant = await newTenant();
    const token = await tokenOf(tenant.admin, 'hana');
    const first = await stream(apiA, '/v1/inbox/stream', bearer(token));
    // Messages keep coming, one after another, while the client drops and comes back.
    const total = 16;
    const sending = (async () => {
      const ids: string[] = [];
      for (let i = 1; i <= total; i++) ids.push(await deliver(tenant, 'hana', `H-${i}`));
      return ids;
    })();
    sending.catch(() => undefined); // awaited below; a failure before then is reported there

    const received: string[] = [];
    while (received.length < 4) received.push((await first.next()).id!);
    first.close();
    await first.ended;
    // Back on the other replica, after a few more were written.
    await eventually(
      async () => ((await client(apiA.url, token)('GET', '/v1/inbox')).body.items.length >= 7 ? true : undefined),
      30_000,
      'more messages while away',
    );
    const second = await stream(apiB, '/v1/inbox/stream', { ...bearer(token), 'last-event-id': received.at(-1)! });
    while (received.length < 10) received.push((await second.next()).id!);
    second.close();
    await second.ended;
    // Once more, with ?after= as a client that cannot set the header does.
    const third = await stream(apiA, `/v1/inbox/stream?after=${received.at(-1)}`, bearer(token));
    const sent = await sending;
    while (received.length < total) received.push((await third.next()).id!);

    expect(received).toEqual(sent);
    await new Promise((r) => setTimeout(r, 300));
    expect(third.pending()).toEqual([]);
  });

  it('says `reset` when it cannot replay from the id given, and refuses an id that is not one', async () => {
    const tenant = await newTenant();
    const token = await tokenOf(tenant.admin, 'ivy');
    const otherToken = await tokenOf(tenant.admin, 'jon');
    const jons = await deliver(tenant, 'jon', 'J-1');
    // Another subscriber's message is not one this inbox got.
    const s = await stream(apiA, '/v1/inbox/stream', { ...bearer(token), 'last-event-id': jons });
    expect(await s.next()).toEqual({ event: 'reset', data: JSON.stringify({ reason: 'unknown_id' }) });
    const id = await deliver(tenant, 'ivy', 'I-1');
    expect((await s.next()).id).toBe(id);

    // More than the replay's bound after the id: nothing is replayed (the stream says `reset` then).
    const later = [await deliver(tenant, 'ivy', 'I-2'), await deliver(tenant, 'ivy', 'I-3')];
    const owner = { tenantId: tenant.id, subscriberId: 'ivy' };
    const inbox = apiA.app.get(InboxService);
    expect(await inbox.after(owner, id, 2)).toEqual({
      items: later.map((m) => expect.objectContaining({ id: m })),
      overflow: false,
    });
    expect(await inbox.after(owner, id, 1)).toEqual({ items: [], overflow: true });

    const bad = await client(apiA.url, otherToken)('GET', '/v1/inbox/stream', undefined, { 'last-event-id': 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'Last-Event-ID header' })]);
    const badQuery = await client(apiA.url, otherToken)('GET', '/v1/inbox/stream?after=x');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors).toEqual([expect.objectContaining({ path: 'query.after' })]);
  });
});
