import { eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';
import type { Route } from './routes';

/** A tenant with one of everything the API can name, so every route has something of its to aim at. */
export interface SeededTenant extends TestTenant {
  eventId: string;
  deliveryId: string;
  deadDeliveryId: string;
  messageId: string;
  endpoint: { id: string; secret: string };
  source: { id: string; secret: string };
  suppressionId: string;
  extraKeyId: string;
  deviceToken: string;
  topicKey: string;
  inboxToken: string;
}

/** SMS to this sandbox number answers HTTP 500: with RETRY_MAX_ATTEMPTS_SMS=1 the delivery ends dead. */
export const FAILING_NUMBER = '+15005550500';
export const SEED_ENV = { RETRY_MAX_ATTEMPTS_SMS: '1' };

/** Needs Herald with the relay, fanout, inapp and sms roles and SEED_ENV. */
export async function seedTenant(baseUrl: string): Promise<SeededTenant> {
  const tenant = await createTenant(baseUrl);
  const ok = async (answer: Promise<{ status: number; body: any }>, what: string) => {
    const { status, body } = await answer;
    if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(body)}`);
    return body;
  };
  await ok(tenant.admin('PUT', '/v1/rules/mine', inappRule), 'rule');
  await ok(tenant.admin('PUT', '/v1/event-types/mine/schemas/1', { type: 'object' }), 'schema');
  await ok(
    tenant.admin('PUT', '/v1/rules/texted', {
      channels: [{ channel: 'sms', template: { body: 'Order {{ data.orderId }}' } }],
    }),
    'sms rule',
  );
  await ok(tenant.admin('PUT', '/v1/subscribers/alice', { email: 'alice@example.com', phone: FAILING_NUMBER }), 'sub');
  const endpoint = await ok(
    tenant.admin('POST', '/v1/webhook-endpoints', { url: 'https://example.com/a', eventTypes: ['none.such'] }),
    'endpoint',
  );
  const source = await ok(
    tenant.admin('POST', '/v1/sources', { name: 's', eventType: 'mine', mapping: { subscriberId: '/id' } }),
    'source',
  );
  const suppression = await ok(
    tenant.admin('POST', '/v1/suppressions', { channel: 'email', address: 'x@example.com' }),
    'suppression',
  );
  const extraKey = await ok(tenant.admin('POST', '/v1/keys', { scope: 'ingest' }), 'key');
  const deviceToken = `device-${tenant.id}`;
  await ok(
    tenant.admin('POST', '/v1/subscribers/alice/devices', { token: deviceToken, platform: 'android' }),
    'device',
  );
  const topicKey = 'watchers';
  await ok(tenant.admin('PUT', `/v1/topics/${topicKey}/subscribers`, { add: ['alice'] }), 'topic');

  const event = await ok(tenant.ingest('POST', '/v1/events', { type: 'mine', to: { subscriberId: 'alice' } }), 'ev');
  const delivery = (await waitForDeliveries(tenant.ingest, event.id, 'sent', 60_000)).deliveries[0];
  const texted = await ok(
    tenant.ingest('POST', '/v1/events', { type: 'texted', to: { subscriberId: 'alice' }, data: { orderId: '1' } }),
    'sms event',
  );
  const dead = (await waitForDeliveries(tenant.ingest, texted.id, 'dead', 60_000)).deliveries[0];
  const inboxToken = (await ok(tenant.admin('POST', '/v1/subscribers/alice/inbox-token'), 'token')).token;
  const inbox = await eventually(async () => {
    const answer = await tenant.admin('GET', '/v1/inbox?subscriberId=alice');
    return answer.body.items?.length ? answer.body : undefined;
  });
  return {
    ...tenant,
    eventId: event.id,
    deliveryId: delivery.id,
    deadDeliveryId: dead.id,
    messageId: inbox.items[0].id,
    endpoint: { id: endpoint.id, secret: endpoint.secret },
    source: { id: source.id, secret: source.secret },
    suppressionId: suppression.id,
    extraKeyId: extraKey.id,
    deviceToken,
    topicKey,
    inboxToken,
  };
}

/**
 * The tenant's own resource for a route's path parameter, or undefined when this file does not know
 * the parameter yet (the suites then fail, naming the route: a new route must be covered here).
 */
export function resourceFor(tenant: SeededTenant, route: Route, param: string): string | undefined {
  const group = route.path.split('/')[2];
  switch (param) {
    case 'eventType':
    case 'type':
      return 'mine';
    case 'version':
      return '1';
    case 'subscriberId':
      return 'alice';
    case 'token':
      return tenant.deviceToken;
    case 'deliveryId':
      return route.path.startsWith('/v1/dead-letters') ? tenant.deadDeliveryId : tenant.deliveryId;
    case 'sourceId':
      return tenant.source.id;
    case 'key':
      return group === 'topics' ? tenant.topicKey : undefined;
    case 'id':
      return {
        events: tenant.eventId,
        deliveries: tenant.deliveryId,
        'webhook-endpoints': tenant.endpoint.id,
        sources: tenant.source.id,
        suppressions: tenant.suppressionId,
        keys: tenant.extraKeyId,
        inbox: tenant.messageId,
      }[group ?? ''];
  }
  return undefined;
}

/** Every id of the tenant's that another tenant must never see. */
export function privateIds(tenant: SeededTenant): string[] {
  return [
    tenant.id,
    tenant.eventId,
    tenant.deliveryId,
    tenant.deadDeliveryId,
    tenant.messageId,
    tenant.endpoint.id,
    tenant.source.id,
    tenant.suppressionId,
    tenant.extraKeyId,
    tenant.deviceToken,
  ];
}
