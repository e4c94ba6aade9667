import type { Pool } from 'pg';
import { generateWebhookSecret, signWebhook } from '@herald/channels';
import { PG_POOL } from '@herald/db';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const mapping = {
  subscriberId: '/user/id',
  email: '/user/mail',
  locale: '/user/prefs/lang',
  data: '/order',
};

const orderBody = (orderId: string, userId = 'u1') => ({
  user: { id: userId, mail: `${userId}@example.com`, prefs: { lang: 'fr-FR' } },
  order: { orderId, total: 42.5, items: [{ sku: 'A-1' }] },
  noise: { ignored: true },
});

describe('inbound webhooks: sources and POST /v1/hooks/:sourceId', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let pool: Pool;
  let source: { id: string; secret: string };
  let seq = 0;

  const anyone = () => client(herald.url);
  const now = () => Math.floor(Date.now() / 1000);

  /** Posts `body` to the hook, signed per Standard Webhooks (override any part to break it). */
  function post(
    body: unknown,
    opts: { id?: string; secret?: string; timestamp?: number; sourceId?: string } = {},
  ): Promise<Answer> {
    const payload = JSON.stringify(body);
    const headers = signWebhook({
      id: opts.id ?? `msg_${++seq}`,
      timestamp: opts.timestamp ?? now(),
      payload,
      secret: opts.secret ?? source.secret,
    });
    return anyone()('POST', `/v1/hooks/${opts.sourceId ?? source.id}`, payload, { ...headers });
  }

  const eventCount = async (tenantId: string) =>
    Number((await pool.query('SELECT count(*) AS n FROM events WHERE tenant_id = $1', [tenantId])).rows[0].n);

  beforeAll(async () => {
    isolated = await isolatedEnv('hooks');
    herald = await startHerald({ env: isolated.env });
    pool = herald.app.get<Pool>(PG_POOL);
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    const created = await tenant.admin('POST', '/v1/sources', { name: 'shop', eventType: 'order.shipped', mapping });
    expect(created.status).toBe(201);
    source = created.body;
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  describe('sources (admin)', () => {
    it('creates a source and shows its whsec_ secret once', async () => {
      const created = await tenant.admin('POST', '/v1/sources', {
        name: 'crm',
        eventType: 'crm.contact-updated',
        mapping: { subscriberId: '/contact/id' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        name: 'crm',
        eventType: 'crm.contact-updated',
        mapping: { subscriberId: '/contact/id' },
        secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]+=*$/),
      });

      const list = await tenant.admin('GET', '/v1/sources');
      expect(list.status).toBe(200);
      expect(list.body.items.map((s: { id: string }) => s.id)).toEqual(
        expect.arrayContaining([source.id, created.body.id]),
      );
      const one = await tenant.admin('GET', `/v1/sources/${created.body.id}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ id: created.body.id, name: 'crm', mapping: { subscriberId: '/contact/id' } });
      // the secret never shows again
      for (const answer of [list, one]) {
        expect(JSON.stringify(answer.body)).not.toContain(created.body.secret);
        expect(JSON.stringify(answer.body)).not.toContain(source.secret);
        expect(JSON.stringify(answer.body)).not.toContain('whsec_');
      }
      expect(one.body.secret).toBeUndefined();

      expect((await tenant.admin('DELETE', `/v1/sources/${created.body.id}`)).status).toBe(204);
      expect((await tenant.admin('GET', `/v1/sources/${created.body.id}`)).status).toBe(404);
      expect((await tenant.admin('DELETE', `/v1/sources/${created.body.id}`)).status).toBe(404);
    });

    it.each([
      ['no mapping', { name: 'x', eventType: 'a.b' }, 'mapping'],
      [
        'a pointer without the leading slash',
        { name: 'x', eventType: 'a.b', mapping: { subscriberId: 'user/id' } },
        'mapping.subscriberId',
      ],
      [
        'a bad ~ escape',
        { name: 'x', eventType: 'a.b', mapping: { subscriberId: '/u', email: '/a~2' } },
        'mapping.email',
      ],
      [
        'an unknown mapping field',
        { name: 'x', eventType: 'a.b', mapping: { subscriberId: '/u', sms: '/p' } },
        'mapping',
      ],
      ['a bad event type', { name: 'x', eventType: 'bad type!', mapping: { subscriberId: '/u' } }, 'eventType'],
      ['an empty name', { name: ' ', eventType: 'a.b', mapping: { subscriberId: '/u' } }, 'name'],
    ])('refuses %s with a 400 naming the field', async (_, body, path) => {
      const answer = await tenant.admin('POST', '/v1/sources', body);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });

    it('needs an admin key', async () => {
      expect((await anyone()('GET', '/v1/sources')).status).toBe(401);
      expect((await tenant.ingest('GET', '/v1/sources')).status).toBe(403);
      expect((await tenant.ingest('POST', '/v1/sources', { name: 'x', eventType: 'a', mapping: {} })).status).toBe(403);
    });

    it("another tenant's source is a 404 on GET and DELETE, and stays", async () => {
      const other = await createTenant(herald.url);
      expect((await other.admin('GET', `/v1/sources/${source.id}`)).status).toBe(404);
      expect((await other.admin('DELETE', `/v1/sources/${source.id}`)).status).toBe(404);
      expect((await other.admin('GET', '/v1/sources')).body.items).toEqual([]);
      expect((await tenant.admin('GET', `/v1/sources/${source.id}`)).status).toBe(200);
      expect((await tenant.admin('GET', '/v1/sources/not-a-uuid')).status).toBe(404);
    });
  });

  describe('POST /v1/hooks/:sourceId (no Herald key, Standard Webhooks signature)', () => {
    it('maps a signed body to an event and delivers the in-app message', async () => {
      const answer = await post(orderBody('1001'));
      expect(answer.status).toBe(202);
      expect(answer.body).toEqual({ id: expect.any(String), status: 'accepted' });
      expect(answer.headers.get('idempotent-replayed')).toBeNull();

      const event = await waitForDeliveries(tenant.ingest, answer.body.id, 'sent');
      expect(event).toMatchObject({ type: 'order.shipped', deliveries: [{ subscriberId: 'u1', channel: 'inapp' }] });
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=u1');
      const item = inbox.body.items.find((i: { title: string }) => i.title === 'Order 1001 shipped');
      expect(item).toMatchObject({ body: 'Hi u1, it is on its way', url: '/orders/1001' });
      expect(item.data).toMatchObject({ orderId: '1001', total: 42.5, items: [{ sku: 'A-1' }] });
      expect(item.data.noise).toBeUndefined();
      // the inline recipient fields reached the subscriber
      const subscriber = await pool.query(
        'SELECT email, locale FROM subscribers WHERE tenant_id = $1 AND subscriber_id = $2',
        [tenant.id, 'u1'],
      );
      expect(subscriber.rows).toEqual([{ email: 'u1@example.com', locale: 'fr-FR' }]);
    });

    it('the whole body is the data when the mapping has no data pointer; a numeric id becomes a string', async () => {
      const whole = await tenant.admin('POST', '/v1/sources', {
        name: 'whole',
        eventType: 'order.shipped',
        mapping: { subscriberId: '/customer~1id' },
      });
      const body = { 'customer/id': 77, orderId: '2002' };
      const answer = await post(body, { sourceId: whole.body.id, secret: whole.body.secret });
      expect(answer.status).toBe(202);
      await waitForDeliveries(tenant.ingest, answer.body.id, 'sent');
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=77');
      expect(inbox.body.items).toEqual([expect.objectContaining({ title: 'Order 2002 shipped', data: body })]);
    });

    it('refuses a wrong secret with 401 no_match, and makes no event', async () => {
      const before = await eventCount(tenant.id);
      const answer = await post(orderBody('1002'), { secret: generateWebhookSecret() });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body).toMatchObject({
        status: 401,
        reason: 'no_match',
        detail: expect.stringMatching(/^no_match/),
      });
      expect(await eventCount(tenant.id)).toBe(before);
    });

    it('refuses a tampered body: the signature is over the exact bytes', async () => {
      const payload = JSON.stringify(orderBody('1003'));
      const headers = signWebhook({ id: 'msg_tamper', timestamp: now(), payload, secret: source.secret });
      const answer = await anyone()('POST', `/v1/hooks/${source.id}`, payload.replace('1003', '9999'), { ...headers });
      expect(answer.status).toBe(401);
      expect(answer.body.reason).toBe('no_match');
    });

    it('refuses timestamps more than 5 minutes away (stale, future) and missing headers', async () => {
      const before = await eventCount(tenant.id);
      const stale = await post(orderBody('1004'), { timestamp: now() - 6 * 60 });
      expect(stale.status).toBe(401);
      expect(stale.body.reason).toBe('stale');
      const future = await post(orderBody('1004'), { timestamp: now() + 6 * 60 });
      expect(future.status).toBe(401);
      expect(future.body.reason).toBe('future');
      const unsigned = await anyone()('POST', `/v1/hooks/${source.id}`, orderBody('1004'));
      expect(unsigned.status).toBe(401);
      expect(unsigned.body.reason).toBe('missing_headers');
      // a Herald key is no substitute for the signature
      const keyed = await tenant.admin('POST', `/v1/hooks/${source.id}`, orderBody('1004'));
      expect(keyed.status).toBe(401);
      expect(await eventCount(tenant.id)).toBe(before);
    });

    it('a replayed webhook-id answers the first event, once; another body with it is a 422', async () => {
      const body = orderBody('1005', 'u5');
      const first = await post(body, { id: 'msg_replay' });
      expect(first.status).toBe(202);
      const count = await eventCount(tenant.id);

      // the sender retries: same id and body, signed again a little later
      const again = await post(body, { id: 'msg_replay', timestamp: now() - 30 });
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await eventCount(tenant.id)).toBe(count);

      const other = await post(orderBody('1006', 'u5'), { id: 'msg_replay' });
      expect(other.status).toBe(422);
      expect(other.headers.get('content-type')).toContain('application/problem+json');
      expect(other.body.type).toMatch(/idempotency-key-reused$/);
      expect(await eventCount(tenant.id)).toBe(count);

      await waitForDeliveries(tenant.ingest, first.body.id, 'sent');
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=u5');
      expect(inbox.body.items).toHaveLength(1);
    });

    it('webhook-ids are per source and never collide with REST Idempotency-Keys', async () => {
      const second = await tenant.admin('POST', '/v1/sources', { name: 'shop-2', eventType: 'order.shipped', mapping });
      const a = await post(orderBody('1007'), { id: 'shared-id' });
      const b = await post(orderBody('1008'), {
        id: 'shared-id',
        sourceId: second.body.id,
        secret: second.body.secret,
      });
      const rest = await tenant.ingest(
        'POST',
        '/v1/events',
        { type: 'order.shipped', to: { subscriberId: 'u1' }, data: { orderId: '1009' } },
        { 'idempotency-key': 'shared-id' },
      );
      expect([a.status, b.status, rest.status]).toEqual([202, 202, 202]);
      expect(new Set([a.body.id, b.body.id, rest.body.id]).size).toBe(3);
    });

    it('answers 404 for an unknown or malformed source id', async () => {
      const unknown = await post(orderBody('1010'), { sourceId: '00000000-0000-4000-8000-000000000000' });
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('content-type')).toContain('application/problem+json');
      expect((await post(orderBody('1010'), { sourceId: 'nope' })).status).toBe(404);
    });

    it('answers 422 naming the pointer when the body has no subscriber id, and makes no event', async () => {
      const before = await eventCount(tenant.id);
      const answer = await post({ user: { mail: 'x@example.com' }, order: { orderId: '1011' } });
      expect(answer.status).toBe(422);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body.detail).toContain('/user/id');
      expect(answer.body.errors).toEqual([{ path: '/user/id', message: expect.stringContaining('subscriberId') }]);
      expect(await eventCount(tenant.id)).toBe(before);
    });

    it('answers 422 naming the pointer when a mapped value fails the event schema', async () => {
      const answer = await post({ user: { id: 'u9', mail: 'not-an-email' }, order: ['not', 'an', 'object'] });
      expect(answer.status).toBe(422);
      const paths = answer.body.errors.map((e: { path: string }) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['/user/mail', '/order']));
    });

    it('refuses a webhook-id too long to be an idempotency key with 400', async () => {
      const answer = await post(orderBody('1012'), { id: 'x'.repeat(250) });
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0].path).toBe('webhook-id header');
    });
  });
});
