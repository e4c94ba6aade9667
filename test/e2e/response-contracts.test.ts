import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Pool } from 'pg';
import { signWebhook } from '@herald/channels';
import { PG_POOL } from '@herald/db';
import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer, type Client } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

/**
 * The response schemas the OpenAPI document declares (`@Returns`) against what a running Herald answers: each
 * route is called and its body validated with the document's own schema (ajv, `additionalProperties: false` on
 * every object), so a schema that lies (a field missing, added, renamed or of another type) fails here. Every
 * operation that declares a response schema must be exercised below.
 */
describe('response bodies match the OpenAPI document', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let document: any;
  let tenant: TestTenant;
  let root: Client;
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  const validators = new Map<string, ValidateFunction>();
  const checked = new Set<string>();

  /** The document's schema for this operation and status, compiled once (its $refs resolve in the document). */
  function validatorFor(method: string, path: string, status: number): ValidateFunction {
    const key = `${method} ${path} ${status}`;
    let validate = validators.get(key);
    if (!validate) {
      const content = document.paths[path]?.[method]?.responses?.[status]?.content;
      const schema = content?.['application/json']?.schema;
      if (!schema) throw new Error(`the document declares no JSON body for ${key}`);
      validate = ajv.compile({ ...schema, components: document.components });
      validators.set(key, validate);
    }
    return validate;
  }

  /** Asserts the answer's status, then that its body is what the document says `path` answers with it. */
  function expectDocumented(answer: Answer, method: string, path: string, status: number): any {
    if (answer.status !== status) {
      throw new Error(
        `${method.toUpperCase()} ${path}: ${answer.status}, not ${status}: ${JSON.stringify(answer.body)}`,
      );
    }
    const validate = validatorFor(method, path, status);
    if (!validate(answer.body)) {
      throw new Error(
        `${method.toUpperCase()} ${path} ${status} does not match its schema:\n` +
          `${ajv.errorsText(validate.errors, { separator: '\n' })}\n${JSON.stringify(answer.body, null, 2)}`,
      );
    }
    checked.add(`${method} ${path}`);
    return answer.body;
  }

  beforeAll(async () => {
    isolated = await isolatedEnv('response-contracts');
    herald = await startHerald({ env: { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' } });
    document = await (await fetch(`${herald.url}/docs/openapi.json`)).json();
    root = client(herald.url, TEST_ROOT_KEY);
    tenant = await createTenant(herald.url);
  }, 60_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  it('catches a body that differs from its schema', () => {
    const validate = validatorFor('get', '/v1/keys', 200);
    const key = { id: 'k', prefix: 'hk_', scope: 'admin', createdAt: new Date().toISOString() };
    expect(validate({ items: [key] })).toBe(true);
    expect(validate({ items: [{ ...key, extra: 1 }] })).toBe(false);
    expect(validate({ items: [{ ...key, scope: 'root' }] })).toBe(false);
    expect(validate({ items: [{ ...key, createdAt: 'yesterday' }] })).toBe(false);
    const { id: _id, ...withoutId } = key;
    expect(validate({ items: [withoutId] })).toBe(false);
  });

  it('health', async () => {
    const anyone = client(herald.url);
    expectDocumented(await anyone('GET', '/health/live'), 'get', '/health/live', 200);
    expectDocumented(await anyone('GET', '/health/ready'), 'get', '/health/ready', 200);
  });

  it('tenants, keys, SMS senders and settings', async () => {
    const created = expectDocumented(
      await root('POST', '/v1/tenants', { name: 'contracts' }),
      'post',
      '/v1/tenants',
      201,
    );
    const sender = `/v1/tenants/${created.id}/sms-sender`;
    expectDocumented(await root('GET', sender), 'get', '/v1/tenants/{id}/sms-sender', 200);
    expectDocumented(await root('PUT', sender, { from: '+14155550199' }), 'put', '/v1/tenants/{id}/sms-sender', 200);

    const { admin } = tenant;
    expectDocumented(await admin('POST', '/v1/keys', { scope: 'ingest' }), 'post', '/v1/keys', 201);
    expectDocumented(await admin('GET', '/v1/keys'), 'get', '/v1/keys', 200);
    expectDocumented(await admin('GET', '/v1/settings'), 'get', '/v1/settings', 200);
    expectDocumented(
      await admin('PATCH', '/v1/settings', {
        quietHours: { start: '22:00', end: '07:00' },
        rateLimits: { sms: { limit: 5, windowSeconds: 60, policy: 'defer' } },
      }),
      'patch',
      '/v1/settings',
      200,
    );
    expectDocumented(await admin('GET', '/v1/settings'), 'get', '/v1/settings', 200);
  });

  it('subscribers, devices, preferences and topics', async () => {
    const { admin } = tenant;
    const alice = {
      email: 'alice@example.com',
      phone: '+15555550100',
      locale: 'en-GB',
      timezone: 'Europe/London',
      data: { plan: 'pro' },
      quietHours: { start: '23:00', end: '06:00' },
    };
    expectDocumented(await admin('PUT', '/v1/subscribers/alice', alice), 'put', '/v1/subscribers/{subscriberId}', 201);
    expectDocumented(await admin('PUT', '/v1/subscribers/bob'), 'put', '/v1/subscribers/{subscriberId}', 201);
    expectDocumented(
      await admin('POST', '/v1/subscribers/alice/devices', { token: 'device-token-1', platform: 'ios' }),
      'post',
      '/v1/subscribers/{subscriberId}/devices',
      201,
    );
    expectDocumented(await admin('GET', '/v1/subscribers/alice'), 'get', '/v1/subscribers/{subscriberId}', 200);
    expectDocumented(await admin('GET', '/v1/subscribers?limit=1'), 'get', '/v1/subscribers', 200);

    const preferences = { channels: { sms: false }, categories: { marketing: { email: false } } };
    const own = '/v1/subscribers/{subscriberId}/preferences';
    expectDocumented(await admin('GET', '/v1/subscribers/alice/preferences'), 'get', own, 200);
    expectDocumented(await admin('PUT', '/v1/subscribers/alice/preferences', preferences), 'put', own, 200);
    expectDocumented(await admin('GET', '/v1/preferences/defaults'), 'get', '/v1/preferences/defaults', 200);
    expectDocumented(
      await admin('PUT', '/v1/preferences/defaults', { channels: { push: false } }),
      'put',
      '/v1/preferences/defaults',
      200,
    );

    expectDocumented(
      await admin('PUT', '/v1/topics/customers/subscribers', { add: ['alice', 'bob'] }),
      'put',
      '/v1/topics/{key}/subscribers',
      200,
    );
    expectDocumented(await admin('GET', '/v1/topics/customers'), 'get', '/v1/topics/{key}', 200);
    expectDocumented(
      await admin('GET', '/v1/topics/customers/subscribers?limit=1'),
      'get',
      '/v1/topics/{key}/subscribers',
      200,
    );
    const token = expectDocumented(
      await admin('POST', '/v1/subscribers/alice/inbox-token'),
      'post',
      '/v1/subscribers/{subscriberId}/inbox-token',
      201,
    );
    expect(typeof token.token).toBe('string');
  });

  it('rules, previews, event schemas, events, deliveries and the inbox', async () => {
    const { admin, ingest } = tenant;
    const smsRule = { channel: 'sms', template: { body: '{{ "x" | append: "y" }} '.repeat(200) } };
    const rule = { ...inappRule, category: 'orders', channels: [...inappRule.channels, smsRule] };
    const saved = expectDocumented(
      await admin('PUT', '/v1/rules/order.shipped', rule),
      'put',
      '/v1/rules/{eventType}',
      200,
    );
    expect(saved.warnings).toBeDefined();
    expectDocumented(await admin('PUT', '/v1/rules/order.shipped', inappRule), 'put', '/v1/rules/{eventType}', 200);
    expectDocumented(await admin('GET', '/v1/rules/order.shipped'), 'get', '/v1/rules/{eventType}', 200);
    expectDocumented(await admin('GET', '/v1/rules'), 'get', '/v1/rules', 200);
    expectDocumented(
      await admin('POST', '/v1/rules/order.shipped/preview', { rule, data: { orderId: 7 }, subscriberId: 'alice' }),
      'post',
      '/v1/rules/{eventType}/preview',
      200,
    );
    expectDocumented(
      await admin('POST', '/v1/rules/order.shipped/preview', {
        channel: { channel: 'webhook', template: {} },
        data: { orderId: 7 },
      }),
      'post',
      '/v1/rules/{eventType}/preview',
      200,
    );

    const schemaPath = '/v1/event-types/{type}/schemas/{version}';
    const dataSchema = { type: 'object', properties: { orderId: { type: 'number' } } };
    expectDocumented(await admin('PUT', '/v1/event-types/order.shipped/schemas/1', dataSchema), 'put', schemaPath, 201);
    expectDocumented(await admin('PUT', '/v1/event-types/order.shipped/schemas/1', dataSchema), 'put', schemaPath, 200);
    expectDocumented(await ingest('GET', '/v1/event-types/order.shipped/schemas/1'), 'get', schemaPath, 200);
    expectDocumented(
      await ingest('GET', '/v1/event-types/order.shipped/schemas'),
      'get',
      '/v1/event-types/{type}/schemas',
      200,
    );
    expectDocumented(await ingest('GET', '/v1/event-types'), 'get', '/v1/event-types', 200);

    const sent = expectDocumented(
      await ingest('POST', '/v1/events', {
        type: 'order.shipped',
        to: { subscriberId: 'alice' },
        data: { orderId: 7 },
      }),
      'post',
      '/v1/events',
      202,
    );
    expectDocumented(
      await ingest('POST', '/v1/events', { type: 'order.shipped', to: [{ topic: 'nobody' }] }),
      'post',
      '/v1/events',
      202,
    );
    const cloudEvent = await fetch(`${herald.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.keys.ingest}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'ce-1',
        source: '/shop',
        type: 'order.shipped',
        subject: 'bob',
        tenantregion: 'eu',
        data: { orderId: 8 },
      }),
    });
    const cloudAnswer = { status: cloudEvent.status, headers: cloudEvent.headers, body: await cloudEvent.json() };
    const fromCloudEvent = expectDocumented(cloudAnswer, 'post', '/v1/events', 202);
    const batch = expectDocumented(
      await ingest('POST', '/v1/events/batch', {
        events: [
          { type: 'order.shipped', to: { subscriberId: 'bob' }, data: { orderId: 9 }, idempotencyKey: 'b-1' },
          { type: 'order.shipped' },
        ],
      }),
      'post',
      '/v1/events/batch',
      207,
    );
    expect(batch.results.map((r: { status: number }) => r.status)).toEqual([202, 400]);
    expectDocumented(
      await ingest('POST', '/v1/events/batch', {
        events: [{ type: 'order.shipped', to: { subscriberId: 'bob' }, data: { orderId: 9 }, idempotencyKey: 'b-1' }],
      }),
      'post',
      '/v1/events/batch',
      207,
    );

    await waitForDeliveries(ingest, sent.id);
    const event = expectDocumented(await ingest('GET', `/v1/events/${sent.id}`), 'get', '/v1/events/{id}', 200);
    expectDocumented(await ingest('GET', '/v1/events?limit=5'), 'get', '/v1/events', 200);
    const withContext = expectDocumented(
      await ingest('GET', `/v1/events/${fromCloudEvent.id}`),
      'get',
      '/v1/events/{id}',
      200,
    );
    expect(withContext.metadata.cloudEvent).toMatchObject({ id: 'ce-1', extensions: { tenantregion: 'eu' } });
    const later = await ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId: 'alice' },
      sendAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expectDocumented(await ingest('DELETE', `/v1/events/${later.body.id}`), 'delete', '/v1/events/{id}', 200);

    const deliveryId = event.deliveries[0].id;
    expectDocumented(await ingest('GET', '/v1/deliveries?limit=5'), 'get', '/v1/deliveries', 200);
    expectDocumented(await ingest('GET', `/v1/deliveries/${deliveryId}`), 'get', '/v1/deliveries/{id}', 200);

    const inbox = (path: string) => `${path}${path.includes('?') ? '&' : '?'}subscriberId=alice`;
    const items = expectDocumented(await admin('GET', inbox('/v1/inbox')), 'get', '/v1/inbox', 200);
    expect(items.items.length).toBeGreaterThan(0);
    const messageId = items.items[0].id;
    expectDocumented(await admin('GET', inbox('/v1/inbox/unread-count')), 'get', '/v1/inbox/unread-count', 200);
    expectDocumented(await admin('POST', inbox(`/v1/inbox/${messageId}/read`)), 'post', '/v1/inbox/{id}/read', 200);
    expectDocumented(await admin('POST', inbox('/v1/inbox/read-all')), 'post', '/v1/inbox/read-all', 200);
    expectDocumented(
      await admin('POST', inbox(`/v1/inbox/${messageId}/archive`)),
      'post',
      '/v1/inbox/{id}/archive',
      200,
    );
  }, 60_000);

  it('webhook endpoints, sources, suppressions, dead letters, stats and the audit log', async () => {
    const { admin } = tenant;
    const endpoint = expectDocumented(
      await admin('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', description: 'contracts' }),
      'post',
      '/v1/webhook-endpoints',
      201,
    );
    expectDocumented(await admin('GET', '/v1/webhook-endpoints'), 'get', '/v1/webhook-endpoints', 200);
    expectDocumented(
      await admin('GET', `/v1/webhook-endpoints/${endpoint.id}`),
      'get',
      '/v1/webhook-endpoints/{id}',
      200,
    );
    expectDocumented(
      await admin('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, { active: false }),
      'patch',
      '/v1/webhook-endpoints/{id}',
      200,
    );

    const source = expectDocumented(
      await admin('POST', '/v1/sources', {
        name: 'shop',
        eventType: 'order.shipped',
        mapping: { subscriberId: '/customer/id', email: '/customer/email', data: '' },
      }),
      'post',
      '/v1/sources',
      201,
    );
    expectDocumented(await admin('GET', '/v1/sources'), 'get', '/v1/sources', 200);
    expectDocumented(await admin('GET', `/v1/sources/${source.id}`), 'get', '/v1/sources/{id}', 200);
    const payload = JSON.stringify({ customer: { id: 'alice', email: 'alice@example.com' }, orderId: 10 });
    const signed = signWebhook({
      id: 'msg_1',
      timestamp: Math.floor(Date.now() / 1000),
      payload,
      secret: source.secret,
    });
    const hooked = expectDocumented(
      await client(herald.url)('POST', `/v1/hooks/${source.id}`, payload, { ...signed }),
      'post',
      '/v1/hooks/{sourceId}',
      202,
    );
    const fromHook = await tenant.ingest('GET', `/v1/events/${hooked.id}`);
    expect(expectDocumented(fromHook, 'get', '/v1/events/{id}', 200).metadata.sentBy).toEqual({ sourceId: source.id });

    expectDocumented(
      await admin('POST', '/v1/suppressions', { channel: 'email', address: 'Carol@Example.com', detail: 'asked' }),
      'post',
      '/v1/suppressions',
      201,
    );
    expectDocumented(await admin('GET', '/v1/suppressions'), 'get', '/v1/suppressions', 200);

    // A delivery whose attempts ran out, as the worker leaves it (test/e2e/dead-letter-replay.test.ts runs it out).
    const pool = herald.app.get<Pool>(PG_POOL);
    const { rows } = await pool.query<{ id: string }>(
      `UPDATE deliveries SET status = 'dead', last_error = 'gave up'
       WHERE id = (SELECT id FROM deliveries WHERE tenant_id = $1 ORDER BY created_at LIMIT 1) RETURNING id`,
      [tenant.id],
    );
    const deadLetters = expectDocumented(await admin('GET', '/v1/dead-letters'), 'get', '/v1/dead-letters', 200);
    expect(deadLetters.items.map((d: { deliveryId: string }) => d.deliveryId)).toEqual([rows[0]!.id]);
    expectDocumented(
      await admin('POST', `/v1/dead-letters/${rows[0]!.id}/replay`),
      'post',
      '/v1/dead-letters/{deliveryId}/replay',
      202,
    );
    expectDocumented(await admin('POST', '/v1/dead-letters/replay'), 'post', '/v1/dead-letters/replay', 202);

    expectDocumented(await admin('GET', '/v1/stats?window=24h'), 'get', '/v1/stats', 200);
    expectDocumented(await admin('GET', '/v1/audit-log?limit=100'), 'get', '/v1/audit-log', 200);
  });

  it('exercises every operation that declares a response schema', () => {
    const declared = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, op]) =>
          Object.entries(op.responses as Record<string, any>).some(
            ([status, r]) => status.startsWith('2') && r.content?.['application/json']?.schema,
          ),
        )
        .map(([method]) => `${method} ${path}`),
    );
    expect(declared.filter((op) => !checked.has(op)).sort()).toEqual([]);
  });
});
