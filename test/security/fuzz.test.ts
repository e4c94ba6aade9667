import fc from 'fast-check';
import { request } from 'node:http';
import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';
import {
  describeRoute,
  documentedRoutes,
  encodePart,
  fillPath,
  type Access,
  type JsonSchema,
  type Route,
} from './routes';

/**
 * Generated requests against every documented route: whatever arrives, the api answers below 500,
 * and every error is problem+json. A few hundred cases in a normal run; HERALD_FULL=1 (test:chaos)
 * runs 10,000. A failure names the route, the request and fast-check's seed, to replay it.
 */
const FULL = process.env.HERALD_FULL === '1';
const TOTAL_CASES = FULL ? 10_000 : 600;
const REQUEST_TIMEOUT_MS = 30_000;
const BODY_LIMIT = 5 * 1024 * 1024;

interface Case {
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string;
}

interface Outcome {
  status: number;
  contentType: string;
  body: string;
}

/** One request over node:http (fetch refuses bodies on GET and some headers); SSE answers are cut. */
function send(baseUrl: string, method: string, c: Case): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // A connection per request (one the server closed after an error is never reused), and an explicit
    // Content-Length: node:http sends a DELETE body unframed otherwise.
    const framed = c.body === undefined || c.headers['transfer-encoding'] !== undefined;
    const headers = framed ? c.headers : { 'content-length': String(Buffer.byteLength(c.body!)), ...c.headers };
    const req = request(`${baseUrl}${c.path}${c.query}`, { method, headers, agent: false }, (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      if (contentType.startsWith('text/event-stream')) {
        res.destroy();
        return resolve({ status: res.statusCode!, contentType, body: '' });
      }
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk.length + body.length < 65_536 ? chunk : ''));
      res.on('end', () => resolve({ status: res.statusCode!, contentType, body }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(c.body);
  });
}

/** What is wrong with an answer, or undefined. */
function judge(outcome: Outcome): string | undefined {
  if (outcome.status >= 500) return `answered ${outcome.status}: ${outcome.body.slice(0, 500)}`;
  if (outcome.status < 400) return undefined;
  if (!outcome.contentType.startsWith('application/problem+json')) {
    return `error ${outcome.status} as ${outcome.contentType || 'no content type'}: ${outcome.body.slice(0, 300)}`;
  }
  try {
    const problem = JSON.parse(outcome.body) as { status?: number; type?: string };
    if (problem.status !== outcome.status || typeof problem.type !== 'string') return `bad problem: ${outcome.body}`;
  } catch {
    return `problem+json that is not JSON: ${outcome.body.slice(0, 300)}`;
  }
  return undefined;
}

// Header values: printable ASCII (what node:http lets a client send).
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) });
const nastyStrings = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\ud800',
  '../../etc/passwd',
  '%',
  '%ZZ',
  '{{ 7 | times: 7 }}{% raw %}',
  "'; DROP TABLE events; --",
  '__proto__',
  'constructor',
  'a'.repeat(5000),
  '9'.repeat(400),
  '-1',
  '1e309',
  'NaN',
  'null',
  '2026-13-45T25:61:00Z',
);
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nastyStrings);
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom({ __proto__: { admin: true } }, { constructor: { prototype: { admin: true } } }, [], {}, null),
);

/** Values shaped by a JSON schema (so generation reaches past the first check), with type confusion mixed in. */
function fromSchema(schema: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return anyJson;
  return fc.oneof({ weight: 5, arbitrary: shaped(schema, depth) }, { weight: 1, arbitrary: anyJson });
}

function shaped(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  const variants = schema.anyOf ?? schema.oneOf ?? schema.allOf;
  if (variants?.length) return fc.oneof(...variants.map((s) => fromSchema(s, depth + 1)));
  if (schema.enum?.length) return fc.oneof(fc.constantFrom(...schema.enum), anyString);
  switch (schema.type) {
    case 'object': {
      const properties = Object.entries(schema.properties ?? {});
      const known = fc.record(
        Object.fromEntries(properties.map(([name, s]) => [name, fromSchema(s, depth + 1)])) as Record<
          string,
          fc.Arbitrary<unknown>
        >,
        { requiredKeys: [] },
      );
      const extra = fc.dictionary(anyString, anyJson, { maxKeys: 2 });
      return fc.tuple(known, fc.option(extra, { freq: 5 })).map(([k, e]) => ({ ...(e ?? {}), ...k }));
    }
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 6 });
    case 'string':
      return fc.oneof(stringFormat(schema.format), anyString);
    case 'integer':
      return fc.oneof(fc.integer(), fc.constantFrom(0, -1, 2 ** 53, Number.MAX_SAFE_INTEGER + 2));
    case 'number':
      return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer());
    case 'boolean':
      return fc.boolean();
    default:
      return anyJson;
  }
}

function stringFormat(format: string | undefined): fc.Arbitrary<string> {
  switch (format) {
    case 'email':
      return fc.emailAddress();
    case 'uri':
      return fc.webUrl();
    case 'date-time':
      return fc.date({ noInvalidDate: true }).map((d) => d.toISOString());
    case 'uuid':
      return fc.uuid();
    default:
      return fc.string({ maxLength: 40 });
  }
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/merge-patch+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/json; charset',
  ';;;',
];

describe('fuzzing every documented route', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let routes: Route[];
  let credentials: Record<Access, string | undefined>;
  let knownIds: string[];

  beforeAll(async () => {
    isolated = await isolatedEnv('fuzz');
    // The api alone: the fuzz is about what the HTTP surface accepts, and workers would only add load.
    herald = await startHerald({ env: isolated.env, roles: [] });
    routes = await documentedRoutes(herald.url);
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    await tenant.admin('PUT', '/v1/subscribers/alice', { email: 'alice@example.com' });
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', { url: 'https://example.com/hook' });
    const source = await tenant.admin('POST', '/v1/sources', {
      name: 'shop',
      eventType: 'order.shipped',
      mapping: { subscriberId: '/id' },
    });
    const event = await tenant.ingest('POST', '/v1/events', { type: 'order.shipped', to: { subscriberId: 'alice' } });
    const token = await tenant.admin('POST', '/v1/subscribers/alice/inbox-token');
    credentials = {
      public: undefined,
      root: TEST_ROOT_KEY,
      admin: tenant.keys.admin,
      ingest: tenant.keys.ingest,
      inbox: token.body.token,
    };
    knownIds = [endpoint.body.id, source.body.id, event.body.id, tenant.id, 'alice', 'order.shipped', 'fcm-token-1'];
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  it('finds the routes in the OpenAPI document', () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.map(describeRoute)).toEqual(
      expect.arrayContaining(['POST /v1/events', 'PUT /v1/rules/:eventType', 'GET /v1/inbox']),
    );
  });

  function caseFor(route: Route): fc.Arbitrary<Case> {
    // The root key suspends tenants (DELETE /v1/tenants/:id): never the one every other route is fuzzed with.
    const suspends = route.access === 'root' && route.method === 'DELETE';
    const ids = suspends ? knownIds.filter((id) => id !== tenant.id) : knownIds;
    // Path segments as sent: encoded values, and raw bytes a client may put there (bad escapes, overlong UTF-8).
    const pathValue = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...ids).map(encodePart) },
      fc.uuid(),
      anyString.map(encodePart),
      fc.constantFrom('%ZZ', '%', '%C0%AF', '%00', '..%2F..%2F', '%E2%82', 'x'.repeat(2000)),
    );
    const pathValues = fc.tuple(...route.pathParams.map(() => pathValue));
    const known = route.query.map(({ name, schema }) =>
      fc.tuple(
        fc.constant(name),
        fromSchema(schema).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
      ),
    );
    const queryPairs = fc.array(
      fc.oneof(
        ...(known.length ? [{ weight: 4, arbitrary: fc.oneof(...known) }] : []),
        { weight: 1, arbitrary: fc.tuple(anyString, anyString) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('token', 'subscriberId', 'cursor', 'limit'), anyString) },
      ),
      { maxLength: 6 },
    );
    const rawQuery = fc.constantFrom('', '?', '?%ZZ', '?a[b][c]=d', '?&&=&', '?limit=1&limit=2');
    const documentedHeaders = fc.record(
      Object.fromEntries(route.headers.map(({ name, schema }) => [name.toLowerCase(), fromSchema(schema)])),
      { requiredKeys: [] },
    );
    const headers = fc.record(
      {
        'content-type': fc.constantFrom(...CONTENT_TYPES),
        'idempotency-key': headerText,
        'x-request-id': headerText,
        accept: fc.constantFrom('*/*', 'text/event-stream', 'application/xml'),
        'webhook-id': headerText,
        'webhook-timestamp': fc.oneof(headerText, fc.integer().map(String)),
        'webhook-signature': headerText,
        'x-twilio-signature': headerText,
        'x-twilio-email-event-webhook-signature': headerText,
        'x-twilio-email-event-webhook-timestamp': headerText,
      },
      { requiredKeys: [] },
    );
    const authorization = fc.oneof(
      { weight: 6, arbitrary: fc.constant(credentials[route.access]) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          undefined,
          'Bearer ',
          'Bearer hk_admin_0000',
          'Basic Zm9vOmJhcg==',
          'Bearer hit_e30.AAAA',
          `Bearer ${TEST_ROOT_KEY}`,
          `Bearer ${tenant.keys.ingest}`,
          `Bearer ${credentials.inbox}`,
        ),
      },
      { weight: 1, arbitrary: headerText.map((h) => `Bearer ${h}`) },
    );
    const jsonBody = fromSchema(route.body).map((v) => JSON.stringify(v) ?? 'null');
    const body = fc.oneof(
      { weight: 6, arbitrary: jsonBody },
      { weight: 1, arbitrary: fc.json() },
      { weight: 1, arbitrary: anyString },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.constantFrom('{"a":', '[', '\u0000', 'a=b&c=%ZZ', '{"__proto__":{"x":1}}') },
    );
    return fc
      .record({ pathValues, queryPairs, rawQuery, documentedHeaders, headers, authorization, body })
      .map(({ pathValues, queryPairs, rawQuery, documentedHeaders, headers, authorization, body }) => {
        const values = Object.fromEntries(route.pathParams.map((name, i) => [name, pathValues[i]!]));
        const pairs = queryPairs.map(([k, v]) => `${encodePart(k)}=${encodePart(v)}`);
        const query = pairs.length ? `?${pairs.join('&')}` : rawQuery;
        const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
        for (const [name, value] of Object.entries(documentedHeaders)) {
          const text = typeof value === 'string' ? value : JSON.stringify(value);
          // Only what a client can put on the wire: printable ASCII.
          if (text !== undefined && /^[\x20-\x7e]*$/.test(text)) all[name] = text;
        }
        if (authorization !== undefined) all.authorization = authorization;
        const sendsBody = route.method !== 'GET' && body !== undefined;
        if (!sendsBody) delete all['content-type'];
        return {
          path: route.path.replace(/:(\w+)/g, (_, name: string) => values[name] ?? 'x'),
          query,
          headers: all,
          body: sendsBody ? body : undefined,
        };
      });
  }

  it(
    `answers ${TOTAL_CASES} generated requests below 500, errors as problem+json`,
    async () => {
      const failures: string[] = [];
      const perRoute = Math.max(5, Math.ceil(TOTAL_CASES / routes.length));
      for (const route of routes) {
        const result = await fc.check(
          fc.asyncProperty(caseFor(route), async (c) => {
            const outcome = await send(herald.url, route.method, c);
            const wrong = judge(outcome);
            if (wrong) throw new Error(wrong);
          }),
          { numRuns: perRoute, endOnFailure: true },
        );
        if (result.failed) {
          const example = JSON.stringify(result.counterexample?.[0]).slice(0, 1500);
          failures.push(
            `${describeRoute(route)} (seed ${result.seed}): ${(result.errorInstance as Error)?.message}\n  ${example}`,
          );
        }
      }
      expect(failures).toEqual([]);
      expect((await fetch(`${herald.url}/health/live`)).status).toBe(200);
    },
    FULL ? 1_800_000 : 180_000,
  );

  it('refuses bodies over the limit with 413 problem+json, on every route that takes one', async () => {
    const oversized = `{"pad":"${'x'.repeat(BODY_LIMIT)}"}`;
    const withBodies = routes.filter((r) => r.method !== 'GET' && r.method !== 'DELETE');
    expect(withBodies.length).toBeGreaterThan(10);
    for (const route of withBodies) {
      const outcome = await send(herald.url, route.method, {
        path: fillPath(route.path, () => knownIds[0]!),
        query: '',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials[route.access] ?? ''}` },
        body: oversized,
      });
      expect([describeRoute(route), outcome.status, judge(outcome)]).toEqual([describeRoute(route), 413, undefined]);
    }
    // Provider callbacks in their own media types, and a chunked body (no Content-Length to refuse early).
    for (const [path, type] of [
      ['/v1/feedback/email/ses', 'text/plain'],
      ['/v1/feedback/twilio/status', 'application/x-www-form-urlencoded'],
    ]) {
      const outcome = await send(herald.url, 'POST', {
        path: path!,
        query: '',
        headers: { 'content-type': type! },
        body: oversized,
      });
      expect([path, outcome.status, judge(outcome)]).toEqual([path, 413, undefined]);
    }
    const chunked = await send(herald.url, 'POST', {
      path: '/v1/events',
      query: '',
      headers: {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        authorization: `Bearer ${tenant.keys.ingest}`,
      },
      body: oversized,
    });
    expect([chunked.status, judge(chunked)]).toEqual([413, undefined]);
  });

  it('bounds deep nesting and huge arrays: a clear 4xx, no stack overflow, no hang', async () => {
    const depth = 10_000; // JSON.stringify overflows the stack from about 5,000
    const deepArray = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const deepObject = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const withBodies = routes.filter((r) => r.method !== 'GET' && r.method !== 'DELETE');
    for (const route of withBodies) {
      const properties = Object.keys(route.body?.properties ?? {});
      const bodies = [deepArray, deepObject];
      if (properties.length) bodies.push(`{${properties.map((p) => `"${p}":${deepArray}`).join(',')}}`);
      for (const body of bodies) {
        const outcome = await send(herald.url, route.method, {
          path: fillPath(route.path, () => knownIds[0]!),
          query: '',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${credentials[route.access] ?? ''}` },
          body,
        });
        expect([describeRoute(route), outcome.status, judge(outcome)]).toEqual([describeRoute(route), 400, undefined]);
      }
    }
    // Deep data inside an otherwise valid event, where the schema takes any JSON.
    const deepData = `{"type":"order.shipped","to":{"subscriberId":"alice"},"data":{"x":${deepArray}}}`;
    const event = await send(herald.url, 'POST', {
      path: '/v1/events',
      query: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.keys.ingest}` },
      body: deepData,
    });
    expect([event.status, judge(event)]).toEqual([400, undefined]);

    // Huge arrays: a batch far past its maximum, and a million-element array where a short list is expected.
    const hugeBatch = `{"events":[${Array(200_000).fill('{}').join(',')}]}`;
    const batch = await send(herald.url, 'POST', {
      path: '/v1/events/batch',
      query: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.keys.ingest}` },
      body: hugeBatch,
    });
    expect([batch.status, judge(batch)]).toEqual([400, undefined]);
    const hugeList = `{"url":"https://example.com/h","eventTypes":[${Array(1_000_000).fill('"a"').join(',')}]}`;
    const endpoint = await send(herald.url, 'POST', {
      path: '/v1/webhook-endpoints',
      query: '',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.keys.admin}` },
      body: hugeList,
    });
    expect([endpoint.status, judge(endpoint)]).toEqual([400, undefined]);
    expect((await fetch(`${herald.url}/health/live`)).status).toBe(200);
  });
});
