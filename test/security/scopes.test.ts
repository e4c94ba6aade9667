import { createHmac } from 'node:crypto';
import { signInboxToken } from '@herald/core';
import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { resourceFor, seedTenant, SEED_ENV, type SeededTenant } from './resources';
import { describeRoute, documentedRoutes, fillPath, type Access, type Route } from './routes';

type Caller = 'root' | 'admin' | 'ingest' | 'inbox';

/** Who each kind of route lets in (what the AuthGuard promises). */
const ALLOWED: Record<Exclude<Access, 'public'>, Caller[]> = {
  root: ['root'],
  admin: ['admin'],
  ingest: ['admin', 'ingest'],
  inbox: ['admin', 'inbox'],
};

/**
 * Every credential against every documented route: each kind of key reaches exactly the routes its
 * scope allows (403 elsewhere), and anything that is not a live credential is 401. Inbox tokens reach
 * one subscriber's inbox only, and forged, expired or tampered ones are refused.
 */
describe('scopes and credentials on every route', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let routes: Route[];
  let a: SeededTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('scopes');
    herald = await startHerald({ env: { ...isolated.env, ...SEED_ENV }, roles: ['relay', 'fanout', 'inapp', 'sms'] });
    routes = (await documentedRoutes(herald.url)).filter((r) => r.access !== 'public');
    a = await seedTenant(herald.url);
  }, 120_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  /** The status a route answers a credential with; a stream is closed as soon as its head arrives. */
  async function statusFor(route: Route, authorization: string | undefined, query = ''): Promise<number> {
    const path = fillPath(route.path, (p) => resourceFor(a, route, p) ?? 'x');
    const abort = new AbortController();
    const response = await fetch(`${herald.url}${path}${query}`, {
      method: route.method,
      headers: {
        ...(authorization ? { authorization } : {}),
        ...(route.method === 'GET' ? {} : { 'content-type': 'application/json' }),
      },
      body: route.method === 'GET' ? undefined : '{}',
      signal: abort.signal,
    });
    if (response.status >= 400) expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    abort.abort();
    return response.status;
  }

  // The inbox checks come first: the sweeps below call every route, archiving and deleting as they go.
  describe('inbox tokens', () => {
    const inbox = () => routes.filter((r) => r.access === 'inbox');

    it("reach only their own subscriber's inbox, whatever the query says", async () => {
      const bob = client(herald.url, (await a.admin('POST', '/v1/subscribers/bob/inbox-token')).body.token);
      const alice = client(herald.url, a.inboxToken);
      expect((await alice('GET', '/v1/inbox')).body.items.map((m: { id: string }) => m.id)).toContain(a.messageId);
      expect((await bob('GET', '/v1/inbox?subscriberId=alice')).body.items).toEqual([]);
      expect((await bob('GET', '/v1/inbox/unread-count?subscriberId=alice')).body).toMatchObject({ count: 0 });
      expect((await bob('POST', `/v1/inbox/${a.messageId}/read`)).status).toBe(404);
      expect((await bob('POST', `/v1/inbox/${a.messageId}/archive?subscriberId=alice`)).status).toBe(404);
      expect((await bob('POST', '/v1/inbox/read-all?subscriberId=alice')).status).toBe(200);
      const message = (await alice('GET', '/v1/inbox')).body.items.find((m: { id: string }) => m.id === a.messageId);
      expect(message).toBeDefined();
      expect((await alice('GET', '/v1/inbox/unread-count')).body).toMatchObject({ count: 1 });
    });

    it('are refused when forged, tampered with, expired or malformed', async () => {
      const secret = herald.config.tokenSecret;
      const exp = Math.floor(Date.now() / 1000) + 600;
      const [body, mac] = a.inboxToken.slice('hit_'.length).split('.') as [string, string];
      const claims = (c: object) => Buffer.from(JSON.stringify(c)).toString('base64url');
      const otherBody = claims({ t: a.id, s: 'bob', e: exp });
      const forgedTokens: Record<string, string> = {
        'signed with another secret': signInboxToken({ tenantId: a.id, subscriberId: 'alice', exp }, 'not-the-secret'),
        'signed with the root key itself': signInboxToken(
          { tenantId: a.id, subscriberId: 'alice', exp },
          TEST_ROOT_KEY,
        ),
        'claims changed, signature kept': `hit_${otherBody}.${mac}`,
        'expiry pushed out, signature kept': `hit_${claims({ t: a.id, s: 'alice', e: exp + 86_400 })}.${mac}`,
        expired: signInboxToken(
          { tenantId: a.id, subscriberId: 'alice', exp: Math.floor(Date.now() / 1000) - 1 },
          secret,
        ),
        'no signature': `hit_${body}.`,
        'no prefix': `${body}.${mac}`,
        'an extra part': `${a.inboxToken}.x`,
        'signature of another body': `hit_${body}.${createHmac('sha256', secret).update(otherBody).digest('base64url')}`,
        'exp as a string': `hit_${claims({ t: a.id, s: 'alice', e: String(exp) })}.${createHmac('sha256', secret)
          .update(claims({ t: a.id, s: 'alice', e: String(exp) }))
          .digest('base64url')}`,
      };
      const wrong: string[] = [];
      for (const route of inbox()) {
        for (const [what, token] of Object.entries(forgedTokens)) {
          for (const [where, status] of [
            ['header', await statusFor(route, `Bearer ${token}`)],
            ['query', await statusFor(route, undefined, `?token=${encodeURIComponent(token)}`)],
          ] as const) {
            if (status !== 401) wrong.push(`${what} (${where}) → ${describeRoute(route)}: ${status}`);
          }
        }
        // The genuine token works both ways, so the refusals above are the token's fault.
        expect(await statusFor(route, `Bearer ${a.inboxToken}`)).not.toBe(401);
        expect(await statusFor(route, undefined, `?token=${encodeURIComponent(a.inboxToken)}`)).not.toBe(401);
      }
      expect(wrong).toEqual([]);
      expect(inbox().length).toBeGreaterThanOrEqual(5);
    });

    it("of another tenant's do not reach this tenant's subscriber of the same name", async () => {
      const other = signInboxToken(
        {
          tenantId: '00000000-0000-4000-8000-000000000000',
          subscriberId: 'alice',
          exp: Math.floor(Date.now() / 1000) + 60,
        },
        herald.config.tokenSecret,
      );
      const stranger = client(herald.url, other);
      expect((await stranger('GET', '/v1/inbox')).body.items).toEqual([]);
      expect((await stranger('POST', `/v1/inbox/${a.messageId}/read`)).status).toBe(404);
    });
  });

  it('lets each key kind reach exactly the routes of its scope', async () => {
    const callers: Record<Caller, string> = {
      root: TEST_ROOT_KEY,
      admin: a.keys.admin,
      ingest: a.keys.ingest,
      inbox: a.inboxToken,
    };
    const wrong: string[] = [];
    for (const route of routes) {
      const allowed = ALLOWED[route.access as Exclude<Access, 'public'>];
      for (const caller of Object.keys(callers) as Caller[]) {
        const status = await statusFor(route, `Bearer ${callers[caller]}`);
        const ok = allowed.includes(caller) ? status !== 401 && status !== 403 : status === 403;
        if (!ok) wrong.push(`${caller} key → ${describeRoute(route)}: ${status}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(routes.length).toBeGreaterThan(40);
  }, 180_000);

  it('answers 401 to anything that is not a live credential, on every route', async () => {
    const revoked = (await a.admin('POST', '/v1/keys', { scope: 'admin' })).body;
    expect((await a.admin('DELETE', `/v1/keys/${revoked.id}`)).status).toBe(204);
    const invalid = [
      undefined,
      'Bearer',
      'Bearer    ',
      'Basic dXNlcjpwYXNz',
      `Basic ${Buffer.from(`x:${TEST_ROOT_KEY}`).toString('base64')}`,
      'Bearer hk_admin_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      `Bearer ${revoked.key}`,
      `Bearer ${a.keys.admin}x`,
      `Bearer ${TEST_ROOT_KEY.slice(0, -1)}`,
      `Bearer ${a.keys.admin.replace('hk_admin_', 'hk_root_')}`,
    ];
    const wrong: string[] = [];
    for (const route of routes) {
      for (const authorization of invalid) {
        const status = await statusFor(route, authorization);
        if (status !== 401) wrong.push(`${authorization} → ${describeRoute(route)}: ${status}`);
      }
      // A key in the query string counts nowhere; only inbox routes take ?token=, and only tokens.
      const inQuery = await statusFor(route, undefined, `?token=${encodeURIComponent(a.keys.admin)}`);
      if (inQuery !== 401) wrong.push(`?token=<admin key> → ${describeRoute(route)}: ${inQuery}`);
    }
    expect(wrong).toEqual([]);
  }, 180_000);
});
