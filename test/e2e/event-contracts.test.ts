import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { SandboxHub, type WebhookReceiver } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const TYPE = 'com.example.order.shipped';
const rule = {
  channels: [
    { channel: 'inapp', template: { title: 'Order {{ data.orderId }} shipped', body: 'via {{ data.carrier }}' } },
    { channel: 'webhook', template: {} },
  ],
};
const v1 = {
  type: 'object',
  properties: { orderId: { type: 'string', minLength: 1 }, carrier: { type: 'string' } },
  required: ['orderId'],
};
/** v1 plus an optional property: backward compatible */
const v2 = { ...v1, properties: { ...v1.properties, eta: { type: 'string', format: 'date-time' } } };
/** carrier removed, orderId retyped, a new required property: three reasons to refuse it */
const incompatible = {
  type: 'object',
  properties: { orderId: { type: 'integer' }, eta: { type: 'string' }, weight: { type: 'number' } },
  required: ['orderId', 'weight'],
};

/** A CloudEvents SDK message as a request: its headers (plus the key) and its body. */
function request(message: Message, key: string): RequestInit {
  return {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), authorization: `Bearer ${key}` },
    body: message.body as string,
  };
}

describe('event contracts: CloudEvents, versioned data schemas, correlation metadata', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let receiver: WebhookReceiver;

  const post = async (init: RequestInit) => {
    const response = await fetch(`${herald.url}/v1/events`, init);
    return { status: response.status, headers: response.headers, body: (await response.json()) as any };
  };
  const shipped = (attributes: Partial<CloudEvent<unknown>> = {}) =>
    new CloudEvent({
      type: TYPE,
      source: '/shop/orders',
      subject: 'alice',
      data: { orderId: 'CE-1', carrier: 'DHL' },
      ...attributes,
    });

  beforeAll(async () => {
    isolated = await isolatedEnv('event-contracts');
    herald = await startHerald({ env: { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    tenant = await createTenant(herald.url);
    receiver = await herald.app.get(SandboxHub).webhookReceiver();
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', { url: receiver.urlFor('/hooks/contracts') });
    receiver.setSecret(endpoint.body.secret);
    expect((await tenant.admin('PUT', `/v1/rules/${TYPE}`, rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  describe('CloudEvents built by the cloudevents SDK', () => {
    it('structured mode: accepted, delivered, its attributes and time kept as metadata', async () => {
      const event = shipped({ id: 'evt-structured-1', time: '2026-11-30T08:00:00.000Z' });
      const answer = await post(request(HTTP.structured(event), tenant.keys.ingest));
      expect(answer.status).toBe(202);
      const stored = await waitForDeliveries(tenant.ingest, answer.body.id);
      expect(stored).toMatchObject({
        type: TYPE,
        to: [{ subscriberId: 'alice' }],
        data: { orderId: 'CE-1', carrier: 'DHL' },
        metadata: {
          occurredAt: '2026-11-30T08:00:00.000Z',
          sentBy: { keyId: expect.any(String) },
          cloudEvent: { id: 'evt-structured-1', source: '/shop/orders', specversion: '1.0', subject: 'alice' },
        },
      });
      expect(Date.parse(stored.metadata.receivedAt)).toBeGreaterThan(Date.parse(stored.metadata.occurredAt));
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=alice');
      expect(inbox.body.items.map((i: { title: string }) => i.title)).toContain('Order CE-1 shipped');

      // The same id and source again (a producer's retry, rebuilt with a new time) is the same event.
      const again = await post(request(HTTP.structured(shipped({ id: 'evt-structured-1' })), tenant.keys.ingest));
      expect(again).toMatchObject({ status: 202, body: { id: answer.body.id } });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    });

    it('binary mode: ce-* headers, the data as the body', async () => {
      const event = shipped({ id: 'evt-binary-1', data: { orderId: 'CE-2', carrier: 'UPS' } });
      const message = HTTP.binary(event);
      expect(message.headers['ce-id']).toBe('evt-binary-1');
      const answer = await post(request(message, tenant.keys.ingest));
      expect(answer.status).toBe(202);
      const stored = await waitForDeliveries(tenant.ingest, answer.body.id);
      expect(stored).toMatchObject({
        data: { orderId: 'CE-2', carrier: 'UPS' },
        metadata: { cloudEvent: { id: 'evt-binary-1', source: '/shop/orders' } },
      });
    });

    it('batch mode: 207 with one result per event, each delivered', async () => {
      const events = [1, 2, 3].map((n) =>
        shipped({ id: `evt-batch-${n}`, subject: `batch-${n}`, data: { orderId: `B-${n}` } }),
      );
      const answer = await post({
        method: 'POST',
        headers: {
          'content-type': 'application/cloudevents-batch+json',
          authorization: `Bearer ${tenant.keys.ingest}`,
        },
        body: JSON.stringify(events),
      });
      expect(answer.status).toBe(207);
      expect(answer.body.results).toEqual([1, 2, 3].map(() => ({ id: expect.any(String), status: 202 })));
      for (const { id } of answer.body.results) await waitForDeliveries(tenant.ingest, id);
    });

    it('an invalid CloudEvent is a 400 naming the attribute', async () => {
      const noSource = { specversion: '1.0', id: 'x-1', type: TYPE, subject: 'alice', data: {} };
      const answer = await post({
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${tenant.keys.ingest}` },
        body: JSON.stringify(noSource),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual([expect.objectContaining({ path: 'source' })]);

      const binary = HTTP.binary(shipped({ id: 'x-2' }));
      const wrongVersion = { ...binary, headers: { ...binary.headers, 'ce-specversion': '0.3' } };
      const refused = await post(request(wrongVersion, tenant.keys.ingest));
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ path: 'ce-specversion' })]);
    });
  });

  describe('versioned JSON Schemas for event data', () => {
    const schemaType = 'invoice.issued';
    const put = (version: number, schema: object) =>
      tenant.admin('PUT', `/v1/event-types/${schemaType}/schemas/${version}`, schema);

    beforeAll(async () => {
      expect((await tenant.admin('PUT', `/v1/rules/${schemaType}`, { channels: [rule.channels[0]] })).status).toBe(200);
    });

    it('publishes v1, accepts a compatible v2, refuses an incompatible v3 with its reasons', async () => {
      expect((await put(1, v1)).status).toBe(201);
      expect((await put(1, v1)).status).toBe(200); // the same schema again changes nothing
      expect((await put(1, v2)).status).toBe(409); // a published version never changes
      expect((await put(2, v2)).status).toBe(201);

      const refused = await put(3, incompatible);
      expect(refused.status).toBe(409);
      expect(refused.headers.get('content-type')).toMatch(/problem\+json/);
      expect(refused.body).toMatchObject({ type: '/problems/schema-incompatible', previousVersion: 2 });
      const changes = refused.body.errors.map((i: { path: string; change: string }) => `${i.change} ${i.path}`);
      expect(changes).toEqual(
        expect.arrayContaining(['property-removed /carrier', 'type-changed /orderId', 'required-added /weight']),
      );

      expect((await put(1, { type: 'string' })).status).toBe(422); // data is an object
      expect((await put(4, { type: 'object', properties: { a: { type: 'nope' } } })).status).toBe(422);
      // What could stall the shared api on every ingest is refused when published: patterns run on RE2,
      // which has no lookaround; unbounded uniqueItems is quadratic.
      const risky = await put(4, {
        type: 'object',
        properties: { code: { type: 'string', pattern: '^(?=.*1)\\d+$' }, tags: { type: 'array', uniqueItems: true } },
      });
      expect(risky.status).toBe(422);
      expect(risky.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
        '/properties/code/pattern',
        '/properties/tags/uniqueItems',
      ]);

      const listed = await tenant.ingest('GET', `/v1/event-types/${schemaType}/schemas`);
      expect(listed.body).toMatchObject({ type: schemaType, latestVersion: 2 });
      expect(listed.body.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
      expect((await tenant.ingest('GET', '/v1/event-types')).body.items).toEqual([
        { type: schemaType, latestVersion: 2, versions: 2 },
      ]);
      // Only admins publish.
      expect((await tenant.ingest('PUT', `/v1/event-types/${schemaType}/schemas/5`, v2)).status).toBe(403);
    });

    it('checks data against the newest version (or the one named): 422 with JSON pointers, nothing stored', async () => {
      const bad = await tenant.ingest('POST', '/v1/events', {
        type: schemaType,
        to: { subscriberId: 'bob' },
        data: { orderId: '', carrier: 7, eta: 'soon' },
      });
      expect(bad.status).toBe(422);
      expect(bad.body).toMatchObject({ type: '/problems/data-invalid', schemaVersion: 2 });
      expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
        '/data/carrier',
        '/data/eta',
        '/data/orderId',
      ]);
      const missing = await tenant.ingest('POST', '/v1/events', { type: schemaType, to: { subscriberId: 'bob' } });
      expect(missing.body.errors).toEqual([expect.objectContaining({ path: '/data/orderId' })]);
      expect((await tenant.ingest('GET', `/v1/events?type=${schemaType}`)).body.items).toEqual([]);

      const good = await tenant.ingest('POST', '/v1/events', {
        type: schemaType,
        to: { subscriberId: 'bob' },
        data: { orderId: 'I-1', eta: '2026-12-24T10:00:00Z' },
      });
      expect(good.status).toBe(202);
      expect((await tenant.ingest('GET', `/v1/events/${good.body.id}`)).body.metadata.schemaVersion).toBe(2);

      const named = await tenant.ingest('POST', '/v1/events', {
        type: schemaType,
        to: { subscriberId: 'bob' },
        data: { orderId: 'I-2' },
        schemaVersion: 1,
      });
      expect((await tenant.ingest('GET', `/v1/events/${named.body.id}`)).body.metadata.schemaVersion).toBe(1);
      const unknown = await tenant.ingest('POST', '/v1/events', {
        type: schemaType,
        to: { subscriberId: 'bob' },
        data: { orderId: 'I-3' },
        schemaVersion: 9,
      });
      expect(unknown).toMatchObject({ status: 422, body: { type: '/problems/schema-version-unknown' } });

      // A CloudEvent names its version with dataschema.
      const ce = new CloudEvent({
        type: schemaType,
        source: '/billing',
        id: 'inv-1',
        subject: 'bob',
        dataschema: `https://schemas.example.com/${schemaType}/1`,
        data: { orderId: 7 },
      });
      const refused = await post(request(HTTP.structured(ce), tenant.keys.ingest));
      expect(refused).toMatchObject({ status: 422, body: { schemaVersion: 1, errors: [{ path: '/data/orderId' }] } });
    });
  });

  describe('a batch mixing every outcome', () => {
    it('answers each event on its own: accepted, 400, 422, a replay, and a key repeated within the batch', async () => {
      const event = (orderId: unknown) => ({ type: 'invoice.issued', to: { subscriberId: 'erin' }, data: { orderId } });
      const first = await tenant.ingest('POST', '/v1/events', event('M-0'), { 'idempotency-key': 'mix-0' });
      expect(first.status).toBe(202);
      const answer = await tenant.ingest('POST', '/v1/events/batch', {
        events: [
          { ...event('M-1'), idempotencyKey: 'mix-1' },
          { type: 'invoice.issued', to: {}, idempotencyKey: 'mix-2' },
          { ...event(42), idempotencyKey: 'mix-3' },
          { ...event('M-0'), idempotencyKey: 'mix-0' },
          { ...event('M-1'), idempotencyKey: 'mix-1' },
          { ...event('M-9'), idempotencyKey: 'mix-1' },
        ],
      });
      expect(answer.status).toBe(207);
      const [accepted, ...rest] = answer.body.results;
      expect(accepted).toEqual({ id: expect.any(String), status: 202 });
      const problem = (status: number, type: string) =>
        expect.objectContaining({ status, error: expect.objectContaining({ type: `/problems/${type}` }) });
      expect(rest).toEqual([
        problem(400, 'validation'),
        problem(422, 'data-invalid'),
        { id: first.body.id, status: 202, replayed: true },
        { id: accepted.id, status: 202, replayed: true },
        problem(422, 'idempotency-key-reused'),
      ]);
    });
  });

  describe('correlation id', () => {
    it('is taken from X-Correlation-Id, stored, answered, and sent on the webhook delivery', async () => {
      const answer = await tenant.ingest(
        'POST',
        '/v1/events',
        { type: TYPE, to: { subscriberId: 'carol' }, data: { orderId: 'C-1' } },
        { 'x-correlation-id': 'checkout-7f3a' },
      );
      expect(answer.status).toBe(202);
      expect(answer.headers.get('x-correlation-id')).toBe('checkout-7f3a');
      const stored = await waitForDeliveries(tenant.ingest, answer.body.id);
      expect(stored.metadata.correlationId).toBe('checkout-7f3a');
      const webhook = stored.deliveries.find((d: { channel: string }) => d.channel === 'webhook');
      const hook = await eventually(
        async () => receiver.requests().find((r) => r.headers['webhook-id'] === webhook.id),
        10_000,
        'the webhook delivery',
      );
      expect(hook.headers['x-correlation-id']).toBe('checkout-7f3a');
      const found = await tenant.ingest('GET', '/v1/events?correlationId=checkout-7f3a');
      expect(found.body.items.map((e: { id: string }) => e.id)).toEqual([answer.body.id]);
    });

    it("is the trace id of a W3C traceparent, else generated; a CloudEvent's traceparent counts for its event", async () => {
      const traced = await tenant.ingest(
        'POST',
        '/v1/events',
        { type: TYPE, to: { subscriberId: 'carol' }, data: { orderId: 'C-2' } },
        { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      );
      expect(traced.headers.get('x-correlation-id')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');

      const plain = await tenant.ingest('POST', '/v1/events', { type: TYPE, to: { subscriberId: 'carol' } });
      const generated = plain.headers.get('x-correlation-id');
      expect(generated).toMatch(/^[0-9a-f]{32}$/);
      expect((await tenant.ingest('GET', `/v1/events/${plain.body.id}`)).body.metadata.correlationId).toBe(generated);

      const ce = shipped({ id: 'evt-traced', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
      const viaCe = await post(request(HTTP.structured(ce), tenant.keys.ingest));
      expect(viaCe.headers.get('x-correlation-id')).toBe('0af7651916cd43dd8448eb211c80319c');
      expect((await tenant.ingest('GET', `/v1/events/${viaCe.body.id}`)).body.metadata.correlationId).toBe(
        '0af7651916cd43dd8448eb211c80319c',
      );

      const bad = await tenant.ingest(
        'POST',
        '/v1/events',
        { type: TYPE, to: { subscriberId: 'carol' } },
        { 'x-correlation-id': 'has spaces' },
      );
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'X-Correlation-Id header' })]);
      // Where nothing is stored, a malformed id is replaced rather than refused.
      const read = await tenant.ingest('GET', '/v1/events', undefined, { 'x-correlation-id': 'has spaces' });
      expect(read.status).toBe(200);
      expect(read.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{32}$/);
    });
  });
});
