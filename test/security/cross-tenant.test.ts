import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Webhook } from 'standardwebhooks';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer } from '../helpers/http';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';
import { privateIds, resourceFor, seedTenant, SEED_ENV, type SeededTenant } from './resources';
import { describeRoute, documentedRoutes, fillPath, isStream, type Route } from './routes';

/**
 * Tenant B, with valid keys of its own, aimed at every route with tenant A's resources: each
 * answer is 404 (or B's own namespace for names B may create), B never reads an id of A's, and A's
 * data reads the same before and after. Routes come from the OpenAPI document, so a new route is
 * covered (or fails here until resources.ts knows its parameters).
 */
const TENANT_ROUTES = new Set(['admin', 'ingest', 'inbox']);
/** Path parameters that are names a tenant chooses: another tenant may hold the same name. */
const NAMES = new Set(['eventType', 'subscriberId', 'key', 'token', 'type', 'version']);
/** Valid bodies, so an attempt gets past validation to the lookup it is testing. */
const BODIES: Record<string, unknown> = {
  'PATCH /v1/webhook-endpoints/:id': { active: false, url: 'https://example.com/b' },
  'PUT /v1/rules/:eventType': inappRule,
  'PUT /v1/subscribers/:subscriberId': { email: 'bee@example.com' },
  'PUT /v1/subscribers/:subscriberId/preferences': { channels: { inapp: false } },
  'POST /v1/subscribers/:subscriberId/devices': { token: 'b-device', platform: 'ios' },
  'PUT /v1/topics/:key/subscribers': { add: ['bob'], remove: ['alice'] },
  'POST /v1/dead-letters/replay': {},
  'PATCH /v1/settings': { rateLimits: { sms: null }, quietHours: null },
  'PUT /v1/preferences/defaults': { channels: { inapp: false } },
};

/** A's whole state as A's admin key reads it, through every GET route (volatile fields left out). */
async function snapshot(routes: Route[], a: SeededTenant): Promise<Record<string, unknown>> {
  const view: Record<string, unknown> = {};
  for (const route of routes.filter((r) => r.method === 'GET' && TENANT_ROUTES.has(r.access) && !isStream(r))) {
    const path = fillPath(route.path, (p) => resourceFor(a, route, p) ?? 'unknown');
    const answer = await a.admin('GET', route.access === 'inbox' ? `${path}?subscriberId=alice` : path);
    view[describeRoute(route)] = [
      answer.status,
      JSON.parse(JSON.stringify(answer.body), (k, v) => (['lastUsedAt', 'requestId'].includes(k) ? undefined : v)),
    ];
  }
  return view;
}

describe('tenant isolation on every route', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let routes: Route[];
  let a: SeededTenant;
  let b: TestTenant;
  let bSource: { id: string; secret: string };

  beforeAll(async () => {
    isolated = await isolatedEnv('cross-tenant');
    herald = await startHerald({ env: { ...isolated.env, ...SEED_ENV }, roles: ['relay', 'fanout', 'inapp', 'sms'] });
    routes = await documentedRoutes(herald.url);
    a = await seedTenant(herald.url);
    // B holds none of A's names, so its look-ups by name find nothing of its own either.
    b = await createTenant(herald.url);
    bSource = (
      await b.admin('POST', '/v1/sources', { name: 'b', eventType: 'b.event', mapping: { subscriberId: '/id' } })
    ).body;
  }, 120_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  it("answers 404 to another tenant's ids, never shows them, and changes nothing of theirs", async () => {
    const before = await snapshot(routes, a);
    // The snapshot holds every resource B aims at, so a change to any of them would show.
    for (const id of privateIds(a).filter((id) => id !== a.id)) expect(JSON.stringify(before)).toContain(id);
    const targets = routes.filter((r) => TENANT_ROUTES.has(r.access) && !isStream(r));
    const unknown = targets.filter((r) => r.pathParams.some((p) => resourceFor(a, r, p) === undefined));
    expect(unknown.map(describeRoute)).toEqual([]);

    // Names B may hold too (its own rule "mine", its own "alice") are tried last, after B's look-ups by id.
    const ownNamespace = (r: Route) =>
      r.pathParams.length > 0 && r.pathParams.every((p) => NAMES.has(p)) && ['PUT', 'POST'].includes(r.method);
    const ordered = [...targets.filter((r) => !ownNamespace(r)), ...targets.filter(ownNamespace)];
    const aIds = privateIds(a);
    const answers: [string, number, string[]][] = [];
    const wrong: string[] = [];
    for (const route of ordered) {
      const path = fillPath(route.path, (p) => resourceFor(a, route, p)!);
      const query = route.access === 'inbox' ? '?subscriberId=alice' : '';
      const body =
        BODIES[describeRoute(route)] ?? (route.method === 'GET' || route.method === 'DELETE' ? undefined : {});
      const answer: Answer = await b.admin(route.method, `${path}${query}`, body);
      // An id B sent may come back in the 404's detail; any other id of A's is a leak.
      const leaked = aIds.filter((id) => !path.includes(id) && JSON.stringify(answer.body ?? '').includes(id));
      answers.push([describeRoute(route), answer.status, leaked]);
      const expected =
        route.pathParams.length === 0 || ownNamespace(route) ? answer.status < 500 : answer.status === 404;
      if (!expected || leaked.length)
        wrong.push(`${describeRoute(route)} → ${answer.status} ${JSON.stringify(answer.body)}`);
      if (answer.status >= 400) expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
    expect(wrong).toEqual([]);
    expect(answers.length).toBeGreaterThan(30);
    expect(answers.filter(([, status]) => status === 404).length).toBeGreaterThan(20);

    // B's ingest key too, on the ingest routes that name something.
    for (const route of targets.filter((r) => r.access === 'ingest' && r.pathParams.length)) {
      const path = fillPath(route.path, (p) => resourceFor(a, route, p)!);
      expect([describeRoute(route), (await b.ingest(route.method, path)).status]).toEqual([describeRoute(route), 404]);
    }

    // An inbox token B issues for its own "alice" reads B's alice, not A's.
    const bToken = client(herald.url, (await b.admin('POST', '/v1/subscribers/alice/inbox-token')).body.token);
    const inbox = await bToken('GET', '/v1/inbox');
    expect(inbox.body.items.map((m: { id: string }) => m.id)).not.toContain(a.messageId);
    expect((await bToken('POST', `/v1/inbox/${a.messageId}/read`)).status).toBe(404);
    expect((await bToken('POST', `/v1/inbox/${a.messageId}/archive`)).status).toBe(404);

    // A post signed with B's source secret, sent to A's source: refused, no event for A.
    const payload = JSON.stringify({ id: 'alice' });
    const now = new Date();
    const hook = await client(herald.url)('POST', `/v1/hooks/${a.source.id}`, payload, {
      'webhook-id': 'msg_cross',
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(bSource.secret).sign('msg_cross', now, payload),
    });
    expect(hook.status).toBe(401);

    expect(await snapshot(routes, a)).toEqual(before);
  }, 180_000);
});

describe('tenant isolation through the MCP server', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let routes: Route[];
  let a: SeededTenant;
  let b: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('cross-tenant-mcp');
    herald = await startHerald({ env: { ...isolated.env, ...SEED_ENV }, roles: ['relay', 'fanout', 'inapp', 'sms'] });
    routes = await documentedRoutes(herald.url);
    a = await seedTenant(herald.url);
    b = await createTenant(herald.url);
  }, 120_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  /** A's resource for a tool argument, or B's own name for names any tenant may hold. */
  const argumentFor = (tool: string, name: string): unknown =>
    ({
      eventId: a.eventId,
      deliveryId: tool.includes('dead_letter') ? a.deadDeliveryId : a.deliveryId,
      suppressionId: a.suppressionId,
      subscriberId: 'alice',
      eventType: 'mine',
      type: 'mine',
      to: { subscriberId: 'alice' },
    })[name];
  const ID_ARGUMENTS = new Set(['eventId', 'deliveryId', 'suppressionId']);

  it("answers every tool aimed at another tenant's ids with not found, and never shows them", async () => {
    const before = await snapshot(routes, a);
    const mcp = new McpClient({ name: 'tenant-b', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${herald.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${b.keys.admin}` } },
      }),
    );
    try {
      const tools = (await mcp.listTools()).tools;
      expect(tools.length).toBeGreaterThan(10);
      const wrong: string[] = [];
      for (const tool of tools) {
        const required = (tool.inputSchema.required ?? []) as string[];
        const names = Object.keys(tool.inputSchema.properties ?? {}).filter(
          (n) => required.includes(n) || ID_ARGUMENTS.has(n) || n === 'subscriberId',
        );
        const unknown = names.filter((n) => argumentFor(tool.name, n) === undefined);
        if (unknown.length) {
          wrong.push(`${tool.name}: this test does not know ${unknown.join(', ')}`);
          continue;
        }
        const args = Object.fromEntries(names.map((n) => [n, argumentFor(tool.name, n)]));
        const result = await mcp.callTool({ name: tool.name, arguments: args });
        const text = JSON.stringify(result.content);
        const first = (result.content as { text?: string }[])[0]?.text ?? '';
        const leaked = privateIds(a).filter((id) => JSON.stringify(args).includes(id) === false && text.includes(id));
        const aimsAtId = names.some((n) => ID_ARGUMENTS.has(n));
        if (leaked.length) wrong.push(`${tool.name} showed ${leaked.join(', ')}`);
        if (aimsAtId && !(result.isError && first.startsWith('404 ')))
          wrong.push(`${tool.name}(${JSON.stringify(args)}) → ${text.slice(0, 200)}`);
        if (!aimsAtId && result.isError && /^5\d\d /.test(first)) wrong.push(`${tool.name} → ${text.slice(0, 200)}`);
      }
      expect(wrong).toEqual([]);
    } finally {
      await mcp.close();
    }
    expect(await snapshot(routes, a)).toEqual(before);
  }, 180_000);
});
