import { Validator } from '@seriousme/openapi-schema-validator';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';

/**
 * Routes the document leaves out on purpose: its own, the development-only sandbox, and Bull Board's
 * UI at /admin/queues (a third-party Fastify plugin for operators, not part of Herald's API).
 */
const UNDOCUMENTED = /^\/(docs|sandbox|admin\/queues|console)(\/|\*|$)/;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

interface Operation {
  operationId: string;
  'x-herald-access': string;
  security?: Record<string, string[]>[];
  requestBody?: { required: boolean; content: Record<string, { schema: any }> };
  parameters?: { name: string; in: string; required: boolean }[];
  responses: Record<string, any>;
}

/**
 * Every `METHOD /path` Fastify has, read from its own route tree (`printRoutes({ commonPrefix: false })`
 * prints one line per route node, its path relative to the line above it, then its methods).
 * HEAD routes Fastify adds for each GET are left out.
 */
function fastifyRoutes(tree: string): string[] {
  const parents: string[] = [];
  const routes = new Set<string>();
  for (const line of tree.split('\n').filter(Boolean)) {
    const match = /^((?:│ {3}| {4})*)[├└]── (.+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) throw new Error(`unexpected printRoutes line: ${JSON.stringify(line)}`);
    const [, indent, fragment, methods] = match;
    parents.length = indent!.length / 4;
    parents.push(fragment!);
    for (const method of methods!.split(', ')) routes.add(`${method} ${parents.join('')}`);
  }
  return [...routes].filter((r) => !(r.startsWith('HEAD ') && routes.has(r.replace(/^HEAD/, 'GET')))).sort();
}

describe('the OpenAPI document at /docs', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let document: any;
  let operations: { method: string; path: string; operation: Operation }[];

  beforeAll(async () => {
    isolated = await isolatedEnv('openapi');
    herald = await startHerald({ env: isolated.env });
    const response = await fetch(`${herald.url}/docs/openapi.json`);
    expect(response.status).toBe(200);
    document = await response.json();
    operations = Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, operation]) => ({ method, path, operation })),
    );
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('is a valid OpenAPI 3.0 document', async () => {
    expect(document.openapi).toBe('3.0.3');
    const result = await new Validator().validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    const ids = operations.map((o) => o.operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('lists every route the server registered, and no other', () => {
    const fastify = herald.app.getHttpAdapter().getInstance();
    const registered = fastifyRoutes(fastify.printRoutes({ commonPrefix: false })).filter(
      (r) => !UNDOCUMENTED.test(r.split(' ')[1]!),
    );
    // The parse above is checked against Fastify's own lookup, so a misread tree cannot pass.
    for (const route of registered) {
      const [method, url] = route.split(' ');
      expect({ route, known: fastify.hasRoute({ method: method as 'GET', url: url! }) }).toEqual({
        route,
        known: true,
      });
    }
    expect(registered.length).toBeGreaterThan(40);

    const documented = operations.map((o) => `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, ':$1')}`).sort();
    expect(documented).toEqual(registered);
  });

  it('says who may call each operation', () => {
    const op = (method: string, path: string) => document.paths[path]?.[method] as Operation;
    expect(op('post', '/v1/events')['x-herald-access']).toBe('ingest');
    expect(op('post', '/v1/events').security).toEqual([{ bearer: [] }]);
    expect(op('post', '/v1/tenants')['x-herald-access']).toBe('root');
    expect(op('get', '/v1/inbox')['x-herald-access']).toBe('inbox');
    expect(op('get', '/health/live')['x-herald-access']).toBe('public');
    expect(op('get', '/health/live').security).toBeUndefined();
    for (const { operation } of operations) {
      expect(operation.security === undefined).toBe(operation['x-herald-access'] === 'public');
    }
    // Errors are problem+json, one shared schema.
    expect(op('post', '/v1/events').responses['401'].content['application/problem+json'].schema).toEqual({
      $ref: '#/components/schemas/Problem',
    });
    expect(Object.keys(document.components.schemas.Problem.properties)).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'errors', 'requestId']),
    );
  });

  it("describes inputs with the zod schemas the handlers parse, and each operation's status", () => {
    const put = document.paths['/v1/rules/{eventType}'].put as Operation;
    expect(put.parameters).toEqual([expect.objectContaining({ name: 'eventType', in: 'path', required: true })]);
    const rule = put.requestBody!.content['application/json'].schema;
    expect(put.requestBody!.required).toBe(true);
    expect(rule.required).toEqual(['channels']);
    expect(rule.properties.channels.items.oneOf.map((c: any) => c.properties.channel.enum[0])).toEqual([
      'email',
      'sms',
      'push',
      'inapp',
      'webhook',
    ]);

    const send = document.paths['/v1/events'].post as Operation;
    expect(Object.keys(send.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '403']));
    expect(send.requestBody!.content['application/json'].schema.required).toEqual(['type', 'to']);
    expect(send.parameters).toEqual([
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
      expect.objectContaining({ name: 'X-Correlation-Id', in: 'header', required: false }),
      expect.objectContaining({ name: 'traceparent', in: 'header', required: false }),
    ]);
    expect(Object.keys(send.requestBody!.content)).toEqual([
      'application/json',
      'application/cloudevents+json',
      'application/cloudevents-batch+json',
    ]);

    const list = document.paths['/v1/events'].get as Operation;
    expect(list.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'limit', in: 'query', required: false })]),
    );
    expect(Object.keys(document.paths['/v1/keys/{id}'].delete.responses)).toContain('204');
    expect(document.paths['/v1/dead-letters/replay'].post.requestBody.required).toBe(false);
  });
});
