import { randomUUID } from 'node:crypto';
import {
  HeraldClient,
  HeraldProblemError,
  verifyWebhook,
  WebhookVerificationError,
  type CloudEventContext,
  type DeliveryDeferral,
  type DeliveryView,
  type EventMetadata,
  type EventView,
} from '@herald/client';
import { SandboxHub, type WebhookReceiver } from '@herald/sandbox';
import { apiDocument } from '../../scripts/generate-client-types';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant } from '../helpers/tenant';

interface OrderShipped {
  id: string;
  type: string;
  data: { orderId: string };
}

// Every key of the client's response types (generated from the document's schemas): `Record<keyof T, true>` makes
// the compiler keep each list exactly in step with its type, and the answers of a running Herald are checked
// against them (as test/e2e/response-contracts.test.ts checks every route's answer against the document).
const EVENT_KEYS: Record<keyof EventView, true> = {
  id: true,
  type: true,
  status: true,
  createdAt: true,
  sendAt: true,
  to: true,
  data: true,
  metadata: true,
  deliveries: true,
  deliveriesTruncated: true,
  deliveryCounts: true,
};
const METADATA_KEYS: Record<keyof EventMetadata, true> = {
  occurredAt: true,
  receivedAt: true,
  correlationId: true,
  schemaVersion: true,
  sentBy: true,
  cloudEvent: true,
};
const CLOUD_EVENT_KEYS: Record<keyof CloudEventContext, true> = {
  id: true,
  source: true,
  specversion: true,
  subject: true,
  dataschema: true,
  datacontenttype: true,
  extensions: true,
};
const DELIVERY_KEYS: Record<keyof DeliveryView, true> = {
  id: true,
  subscriberId: true,
  endpointId: true,
  channel: true,
  status: true,
  attempts: true,
  providerMessageId: true,
  lastError: true,
  lastDeferral: true,
};
const DEFERRAL_KEYS: Record<keyof DeliveryDeferral, true> = { at: true, status: true, reason: true, until: true };

/** The keys of an answer that its type does not name. */
const unknownKeys = (answer: object, known: object) => Object.keys(answer).filter((key) => !(key in known));

/** @herald/client against a real Herald: typed calls in, a signed webhook out. */
describe('@herald/client', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let receiver: WebhookReceiver;
  let admin: HeraldClient;
  let ingest: HeraldClient;

  beforeAll(async () => {
    isolated = await isolatedEnv('client');
    herald = await startHerald({ env: { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    const { keys } = await createTenant(herald.url);
    admin = new HeraldClient({ baseUrl: herald.url, apiKey: keys.admin });
    ingest = new HeraldClient({ baseUrl: herald.url, apiKey: keys.ingest });
    receiver = await herald.app.get(SandboxHub).webhookReceiver();
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('generates its types from the document a running Herald serves', async () => {
    const served = await (await fetch(`${herald.url}/docs/openapi.json`)).json();
    // scripts/generate-client-types.ts builds the document without starting Herald: it must see the same routes.
    expect(JSON.parse(JSON.stringify(apiDocument()))).toEqual(served);
  });

  it('sends an event to a webhook endpoint, reads it back, and verifies the signed delivery', async () => {
    const endpoint = await admin.createWebhookEndpoint({
      url: receiver.urlFor('/hooks/client'),
      eventTypes: ['order.shipped'],
    });
    expect(endpoint).toMatchObject({ active: true, eventTypes: ['order.shipped'] });
    expect(endpoint.secret).toMatch(/^whsec_/);
    const rule = await admin.putRule('order.shipped', { channels: [{ channel: 'webhook', template: {} }] });
    expect(rule).toMatchObject({ eventType: 'order.shipped', critical: false, channels: [{ channel: 'webhook' }] });

    const event = { type: 'order.shipped', to: { subscriberId: 'ada' }, data: { orderId: 'O-7' } };
    const key = `order-O-7-${randomUUID()}`;
    const sent = await ingest.sendEvent(event, { idempotencyKey: key });
    expect(sent).toEqual({ id: expect.any(String), status: 'accepted', replayed: false });
    expect(await ingest.sendEvent(event, { idempotencyKey: key })).toEqual({ ...sent, replayed: true });

    // A CloudEvent is keyed by its id and source: sent twice, stored once.
    const cloudEvent = { specversion: '1.0' as const, id: randomUUID(), source: '/shop/orders', type: 'order.shipped' };
    const first = await ingest.sendCloudEvent({ ...cloudEvent, subject: 'ada', data: { orderId: 'O-8' } });
    expect(await ingest.sendCloudEvent({ ...cloudEvent, subject: 'ada', data: { orderId: 'O-8' } })).toEqual({
      ...first,
      replayed: true,
    });

    const view = await eventually(async () => {
      const current = await ingest.getEvent(sent.id);
      return current.deliveries.some((d) => d.status === 'sent') ? current : undefined;
    }, 30_000);
    expect(view).toMatchObject({
      id: sent.id,
      type: 'order.shipped',
      status: 'routed',
      to: [{ subscriberId: 'ada' }],
      data: { orderId: 'O-7' },
      metadata: {
        occurredAt: expect.any(String),
        receivedAt: expect.any(String),
        correlationId: expect.any(String),
        sentBy: { keyId: expect.any(String) },
      },
    });
    // Sent without occurredAt: it happened when it was received.
    expect(view.metadata.occurredAt).toBe(view.metadata.receivedAt);
    const [delivery] = view.deliveries;
    expect(delivery).toMatchObject({ channel: 'webhook', endpointId: endpoint.id, status: 'sent' });
    expect(delivery!.attempts).toEqual([expect.objectContaining({ outcome: 'ok' })]);
    expect(unknownKeys(view, EVENT_KEYS)).toEqual([]);
    expect(unknownKeys(view.metadata, METADATA_KEYS)).toEqual([]);
    expect(unknownKeys(delivery!, DELIVERY_KEYS)).toEqual([]);

    const fromCloudEvent = await ingest.getEvent(first.id);
    expect(fromCloudEvent.metadata.cloudEvent).toEqual({
      id: cloudEvent.id,
      source: cloudEvent.source,
      specversion: '1.0',
      subject: 'ada',
    });
    expect(unknownKeys(fromCloudEvent.metadata, METADATA_KEYS)).toEqual([]);
    expect(unknownKeys(fromCloudEvent.metadata.cloudEvent!, CLOUD_EVENT_KEYS)).toEqual([]);

    const hook = receiver.requests().find((r) => r.headers['webhook-id'] === delivery!.id);
    expect(hook).toBeDefined();
    const payload = verifyWebhook<OrderShipped>({
      payload: hook!.body,
      headers: hook!.headers,
      secret: endpoint.secret,
    });
    expect(payload).toMatchObject({ id: sent.id, type: 'order.shipped', data: { orderId: 'O-7' } });
    expect(() =>
      verifyWebhook({ payload: hook!.body.replace('O-7', 'O-8'), headers: hook!.headers, secret: endpoint.secret }),
    ).toThrow(WebhookVerificationError);

    // Every endpoint is reachable, typed by path, through `api`.
    const { data } = await admin.api.GET('/v1/webhook-endpoints/{id}', { params: { path: { id: endpoint.id } } });
    expect(data).toMatchObject({ id: endpoint.id, url: endpoint.url });
  });

  it("shows a delivery's latest hold-back as the client's types describe it", async () => {
    await admin.putRule('order.limited', {
      channels: [
        {
          channel: 'inapp',
          template: { title: 'Order', body: 'On its way' },
          rateLimit: { limit: 1, windowSeconds: 60, policy: 'drop' },
        },
      ],
    });
    const send = async () => (await ingest.sendEvent({ type: 'order.limited', to: { subscriberId: 'lim' } })).id;
    const ids = [await send(), await send()];
    // One of the two is sent, the other dropped by the limit: which one depends on the workers' order.
    const dropped = await eventually(async () => {
      const deliveries = (await Promise.all(ids.map((id) => ingest.getEvent(id)))).flatMap((e) => e.deliveries);
      return deliveries.find((d) => d.status === 'rate_limited');
    }, 30_000);
    expect(dropped.lastDeferral).toEqual({
      at: expect.any(String),
      status: 'rate_limited',
      reason: dropped.lastError,
      until: null,
    });
    expect(unknownKeys(dropped, DELIVERY_KEYS)).toEqual([]);
    expect(unknownKeys(dropped.lastDeferral!, DEFERRAL_KEYS)).toEqual([]);
  });

  it("throws Herald's problems as HeraldProblemError", async () => {
    const missing = await ingest.getEvent(randomUUID()).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(HeraldProblemError);
    expect(missing).toMatchObject({ status: 404, requestId: expect.any(String) });

    const invalid = await ingest
      .sendEvent({ type: 'order.shipped', to: { subscriberId: 'ada', email: 'not-an-email' } })
      .catch((e: HeraldProblemError) => e);
    expect(invalid).toMatchObject({ status: 400, errors: [expect.objectContaining({ path: 'to.email' })] });

    const key = randomUUID();
    await ingest.sendEvent({ type: 'order.shipped', to: { subscriberId: 'ada' } }, { idempotencyKey: key });
    const reused = await ingest
      .sendEvent({ type: 'order.shipped', to: { subscriberId: 'bob' } }, { idempotencyKey: key })
      .catch((e: HeraldProblemError) => e);
    expect(reused).toBeInstanceOf(HeraldProblemError);
    expect((reused as HeraldProblemError).status).toBe(422);
    expect((reused as HeraldProblemError).type).toMatch(/idempotency-key-reused$/);

    const forbidden = await ingest.putRule('x', { channels: [{ channel: 'webhook', template: {} }] }).catch((e) => e);
    expect(forbidden).toMatchObject({ status: 403 });
  });

  it('sends a batch, each event with an idempotency key of its own', async () => {
    const results = await ingest.sendBatch([
      { type: 'order.shipped', to: { subscriberId: 'ada' } },
      { type: 'order.shipped', to: { subscriberId: 'bob' }, idempotencyKey: 'batch-bob' },
      { type: '', to: { subscriberId: 'eve' } },
    ]);
    expect(results).toEqual([
      { id: expect.any(String), status: 202 },
      { id: expect.any(String), status: 202 },
      { status: 400, error: expect.objectContaining({ type: expect.stringMatching(/validation$/) }) },
    ]);
    const again = await ingest.sendBatch([
      { type: 'order.shipped', to: { subscriberId: 'bob' }, idempotencyKey: 'batch-bob' },
    ]);
    expect(again).toEqual([{ id: results[1]!.id, status: 202, replayed: true }]);
  });
});
