import { memorySpans } from '@herald/observability';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('tracing: one trace from the ingest request to the delivery (TRACING_EXPORTER=memory)', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('tracing');
    herald = await startHerald({ env: { ...isolated.env, TRACING_EXPORTER: 'memory' } });
    tenant = await createTenant(herald.url);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('chains herald.ingest → herald.relay.publish → herald.fanout → herald.deliver', async () => {
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule)).status).toBe(200);
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: 'alice' },
      data: { orderId: 'T-1' },
    });
    expect(sent.status).toBe(202);
    const eventId: string = sent.body.id;
    const [delivery] = (await waitForDeliveries(tenant.ingest, eventId)).deliveries;

    // The deliver span ends just after the `sent` row commits: wait for it rather than race it.
    const names = ['herald.ingest', 'herald.relay.publish', 'herald.fanout', 'herald.deliver'];
    const chain = await eventually(
      async () => {
        const spans = memorySpans();
        const relayed = spans.find(
          (s) => s.name === 'herald.relay.publish' && s.attributes['herald.event_id'] === eventId,
        );
        const traceId = relayed?.spanContext().traceId;
        const found = names.map((name) => spans.find((s) => s.name === name && s.spanContext().traceId === traceId));
        return found.every(Boolean) ? found.map((s) => s!) : undefined;
      },
      5_000,
      'the four spans of the event',
    );

    const [ingest, relay, fanout, deliver] = chain;
    expect(new Set(chain.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(ingest.parentSpanContext).toBeUndefined();
    for (let i = 1; i < chain.length; i++) {
      expect(chain[i].parentSpanContext?.spanId).toBe(chain[i - 1].spanContext().spanId);
    }
    expect(ingest.attributes).toMatchObject({
      'herald.event_type': 'order.shipped',
      'herald.recipients': 1,
      'herald.accepted': 1,
    });
    expect(relay.attributes).toMatchObject({ 'herald.tenant_id': ingest.attributes['herald.tenant_id'] });
    expect(fanout.attributes).toMatchObject({ 'herald.event_id': eventId, 'herald.deliveries': 1 });
    expect(deliver.attributes).toMatchObject({
      'herald.channel': 'inapp',
      'herald.delivery_id': delivery.id,
      'herald.outcome': 'sent',
    });
    expect(chain.every((s) => s.resource.attributes['service.name'] === 'herald')).toBe(true);
  });
});
