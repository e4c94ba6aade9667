import { createHmac } from 'node:crypto';
import { signInboxToken } from '@herald/core';
import { z } from 'zod';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('the admin surface: keys, queries, audit log, isolation and scopes', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let alpha: TestTenant;
  let beta: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('admin');
    herald = await startHerald({ env: isolated.env });
    [alpha, beta] = [await createTenant(herald.url), await createTenant(herald.url)];
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('lists keys by prefix, scope and last use, never the key; revoked keys stop working', async () => {
    const created = await alpha.admin('POST', '/v1/keys', { scope: 'ingest' });
    expect(created.status).toBe(201);
    const extra = client(herald.url, created.body.key);
    expect((await extra('GET', '/v1/events')).status).toBe(200);

    const keys = await eventually(async () => {
      const list = (await alpha.admin('GET', '/v1/keys')).body.items as Record<string, unknown>[];
      return list.find((k) => k.id === created.body.id)?.lastUsedAt ? list : undefined;
    });
    expect(keys).toHaveLength(3);
    expect(JSON.stringify(keys)).not.toContain(created.body.key);
    expect(keys.find((k) => k.id === created.body.id)).toMatchObject({ scope: 'ingest', prefix: expect.any(String) });

    expect((await alpha.admin('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(204);
    expect((await extra('GET', '/v1/events')).status).toBe(401);
  });

  it('queries events and deliveries with filters and cursors', async () => {
    await alpha.admin('PUT', '/v1/rules/query.me', inappRule);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const answer = await alpha.ingest('POST', '/v1/events', {
        type: 'query.me',
        to: { subscriberId: `q${i % 2}` },
        data: { orderId: `Q-${i}` },
      });
      ids.push(answer.body.id);
    }
    for (const id of ids) await waitForDeliveries(alpha.ingest, id, 'sent');
    await alpha.ingest('POST', '/v1/events', { type: 'nobody.listens', to: { subscriberId: 'q0' } });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await alpha.ingest('GET', `/v1/events?type=query.me&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((e: { id: string }) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const routed = (await alpha.ingest('GET', '/v1/events?type=query.me&limit=1')).body.items[0];
    expect(routed).toMatchObject({ status: 'routed', recipients: 1, deliveries: { sent: 1 } });
    const unrouted = await eventually(async () => {
      const list = (await alpha.ingest('GET', '/v1/events?status=unrouted')).body.items;
      return list.length === 1 ? list : undefined;
    });
    expect(unrouted[0].type).toBe('nobody.listens');

    const forQ1 = await alpha.ingest('GET', '/v1/deliveries?subscriberId=q1&channel=inapp&status=sent');
    expect(forQ1.body.items).toHaveLength(2);
    expect(forQ1.body.items.every((d: { subscriberId: string }) => d.subscriberId === 'q1')).toBe(true);
    expect((await alpha.ingest('GET', '/v1/deliveries?status=lost')).status).toBe(400);
    expect((await beta.ingest('GET', '/v1/events')).body.items).toEqual([]);
  });

  it('audits every admin change: who, what, before and after, with secrets redacted', async () => {
    const rule = { channels: [{ channel: 'inapp', template: { title: 'v1', body: 'b' } }] };
    await alpha.admin('PUT', '/v1/rules/audited', rule);
    await alpha.admin('PUT', '/v1/rules/audited', { ...rule, critical: true });
    await alpha.admin('DELETE', '/v1/rules/audited');
    await alpha.admin('POST', '/v1/webhook-endpoints', { url: 'https://example.com/hook' });

    const log = (await alpha.admin('GET', '/v1/audit-log?limit=4')).body.items;
    const keyId = (await alpha.admin('GET', '/v1/keys')).body.items.find(
      (k: { scope: string }) => k.scope === 'admin',
    ).id;
    expect(log.map((r: { action: string }) => r.action)).toEqual([
      'POST /v1/webhook-endpoints',
      'DELETE /v1/rules/:eventType',
      'PUT /v1/rules/:eventType',
      'PUT /v1/rules/:eventType',
    ]);
    expect(log.every((r: { actor: string }) => r.actor === `key:${keyId}`)).toBe(true);
    const [created, deleted, updated, first] = log;
    expect(first).toMatchObject({ target: '/v1/rules/audited', after: { critical: false } });
    expect(first.before).toBeUndefined();
    expect(updated).toMatchObject({ before: { critical: false }, after: { critical: true } });
    expect(deleted).toMatchObject({ before: { critical: true } });
    expect(deleted.after).toBeUndefined();
    expect(created.after).toMatchObject({ url: 'https://example.com/hook', secret: '[Redacted]' });
    // Beta's log holds only its own creation by the root key (keys redacted), nothing of alpha's.
    expect((await beta.admin('GET', '/v1/audit-log')).body.items).toEqual([
      expect.objectContaining({
        action: 'POST /v1/tenants',
        actor: 'root',
        after: expect.objectContaining({ keys: '[Redacted]' }),
      }),
    ]);
  });

  it('answers the audit log in a fixed shape: dates are ISO strings, POST answers included', async () => {
    const created = await alpha.admin('POST', '/v1/suppressions', {
      channel: 'email',
      address: 'paused@example.com',
      expiresAt: '2099-01-01T00:00:00.000Z',
    });
    expect(created.status).toBe(201);
    const iso = z.iso.datetime({ offset: true });
    const entry = z.strictObject({
      id: z.string().regex(/^\d+$/),
      at: iso,
      actor: z.string(),
      action: z.string(),
      target: z.string(),
      before: z.record(z.string(), z.unknown()).optional(),
      after: z.record(z.string(), z.unknown()).optional(),
    });
    const page = z.strictObject({ items: z.array(entry), nextCursor: z.string().optional() });
    const log = page.parse((await alpha.admin('GET', '/v1/audit-log?limit=1')).body);
    expect(log.items[0]).toMatchObject({ action: 'POST /v1/suppressions', after: { id: created.body.id } });
    // Every date a stored answer holds reads back as the answer gave it (a Date used to be stored as {}).
    const after = log.items[0].after!;
    expect([iso.safeParse(after.createdAt).success, after.createdAt]).toEqual([true, created.body.createdAt]);
    expect([iso.safeParse(after.expiresAt).success, after.expiresAt]).toEqual([true, created.body.expiresAt]);
  });

  it("another tenant's ids answer 404 and change nothing", async () => {
    await alpha.admin('PUT', '/v1/rules/mine', inappRule);
    await alpha.admin('PUT', '/v1/subscribers/alice', { email: 'alice@example.com' });
    const endpoint = (await alpha.admin('POST', '/v1/webhook-endpoints', { url: 'https://example.com/a' })).body;
    const source = (
      await alpha.admin('POST', '/v1/sources', { name: 's', eventType: 'mine', mapping: { subscriberId: '/id' } })
    ).body;
    const suppression = (await alpha.admin('POST', '/v1/suppressions', { channel: 'email', address: 'x@example.com' }))
      .body;
    const event = (await alpha.ingest('POST', '/v1/events', { type: 'mine', to: { subscriberId: 'alice' } })).body;
    const delivery = (await waitForDeliveries(alpha.ingest, event.id, 'sent')).deliveries[0];
    const key = (await alpha.admin('POST', '/v1/keys', { scope: 'ingest' })).body;

    const attempts: [string, string, object?][] = [
      ['GET', '/v1/rules/mine'],
      ['DELETE', '/v1/rules/mine'],
      ['GET', '/v1/subscribers/alice'],
      ['DELETE', '/v1/subscribers/alice'],
      ['GET', '/v1/subscribers/alice/preferences'],
      ['GET', `/v1/webhook-endpoints/${endpoint.id}`],
      ['PATCH', `/v1/webhook-endpoints/${endpoint.id}`, { active: false }],
      ['DELETE', `/v1/webhook-endpoints/${endpoint.id}`],
      ['GET', `/v1/sources/${source.id}`],
      ['DELETE', `/v1/sources/${source.id}`],
      ['DELETE', `/v1/suppressions/${suppression.id}`],
      ['POST', `/v1/dead-letters/${delivery.id}/replay`],
      ['DELETE', `/v1/dead-letters/${delivery.id}`],
      ['GET', `/v1/deliveries/${delivery.id}`],
      ['GET', `/v1/events/${event.id}`],
      ['DELETE', `/v1/keys/${key.id}`],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await beta.admin(method, path, body);
      expect([method, path, answer.status]).toEqual([method, path, 404]);
      expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
    }
    expect((await alpha.admin('GET', '/v1/rules/mine')).status).toBe(200);
    expect((await alpha.admin('GET', '/v1/subscribers/alice')).status).toBe(200);
    expect((await alpha.admin('GET', `/v1/webhook-endpoints/${endpoint.id}`)).body.active).toBe(true);
    expect((await alpha.admin('GET', `/v1/sources/${source.id}`)).status).toBe(200);
    expect((await alpha.admin('GET', '/v1/suppressions?channel=email&address=x@example.com')).body.items).toHaveLength(
      1,
    );
    expect((await client(herald.url, key.key)('GET', '/v1/events')).status).toBe(200);

    // Inbox: another tenant's admin key cannot read or change alpha's subscriber's inbox.
    const inbox = await alpha.admin('GET', '/v1/inbox?subscriberId=alice');
    const messageId = inbox.body.items[0].id;
    expect((await beta.admin('POST', `/v1/inbox/${messageId}/read`)).status).toBe(400);
    expect((await beta.admin('POST', `/v1/inbox/${messageId}/read?subscriberId=alice`)).status).toBe(404);
  });

  it('scopes: an ingest key cannot administer; forged and expired inbox tokens are refused', async () => {
    for (const [method, path] of [
      ['GET', '/v1/rules'],
      ['PUT', '/v1/rules/x'],
      ['GET', '/v1/subscribers'],
      ['GET', '/v1/keys'],
      ['POST', '/v1/keys'],
      ['GET', '/v1/webhook-endpoints'],
      ['GET', '/v1/sources'],
      ['GET', '/v1/suppressions'],
      ['GET', '/v1/dead-letters'],
      ['GET', '/v1/settings'],
      ['GET', '/v1/audit-log'],
    ]) {
      expect([method, path, (await alpha.ingest(method, path, method === 'GET' ? undefined : {})).status]).toEqual([
        method,
        path,
        403,
      ]);
    }
    const token = (await alpha.admin('POST', '/v1/subscribers/alice/inbox-token')).body.token as string;
    expect((await client(herald.url, token)('GET', '/v1/inbox')).status).toBe(200);
    const [body, signature] = token.slice('hit_'.length).split('.');
    const forged = `hit_${body}.${createHmac('sha256', 'not-the-secret').update(body).digest('base64url')}`;
    expect(signature).not.toBe(forged.split('.')[1]);
    expect((await client(herald.url, forged)('GET', '/v1/inbox')).status).toBe(401);

    const expired = signInboxToken(
      { tenantId: alpha.id, subscriberId: 'alice', exp: Math.floor(Date.now() / 1000) - 1 },
      herald.config.tokenSecret,
    );
    expect((await client(herald.url, expired)('GET', '/v1/inbox')).status).toBe(401);
  });

  describe('API rate limit per key', () => {
    let limited: RunningHerald;

    beforeAll(async () => {
      limited = await startHerald({
        roles: [],
        env: { ...isolated.env, API_RATE_LIMIT_PER_SECOND: '1', API_RATE_LIMIT_BURST: '3' },
      });
    });
    afterAll(() => limited.close());

    it('answers with RateLimit headers, then 429 with Retry-After; keys are counted apart', async () => {
      const alphaKey = client(limited.url, alpha.keys.ingest);
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await alphaKey('GET', '/v1/events?limit=1'));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 429]);
      expect(answers[0].headers.get('ratelimit-limit')).toBe('3');
      expect(answers.map((a) => a.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
      expect(Number(answers[3].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(answers[3].body).toMatchObject({ type: '/problems/rate-limited', status: 429 });

      expect((await client(limited.url, beta.keys.ingest)('GET', '/v1/events?limit=1')).status).toBe(200);
      expect((await client(limited.url)('GET', '/health/live')).status).toBe(200);
    });
  });
});
