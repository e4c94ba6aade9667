import { RequestMethod } from '@nestjs/common';
import { HEADERS_METADATA, HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import type { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { ACCESS } from '../auth/auth.decorator';
import type { Access } from '../auth/principal';
import { API_INPUT, type ApiInputSchemas } from './api-input.decorator';
import { API_OUTPUT, type ApiOutputSchemas } from './api-output.decorator';

type JsonSchema = Record<string, unknown>;

/** One route as Nest registers it, with what its decorators say about it. */
export interface Route {
  method: Lowercase<keyof typeof RequestMethod>;
  /** In Nest's form: `/v1/events/:id`. */
  path: string;
  status: number;
  /** Absent: public (no @Auth). */
  access?: Access;
  input: ApiInputSchemas;
  /** The success bodies `@Returns` declares, by status (`0`: the route's own status); empty when undeclared. */
  output: ApiOutputSchemas;
  /** The response media type a `@Header('content-type', …)` declares; JSON otherwise. */
  contentType?: string;
  /** `Controller.method`, e.g. `EventsController.send`. */
  handler: string;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  tags: string[];
  description: string;
  'x-herald-access': Access | 'public';
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
}

export interface OpenApiDocument {
  openapi: '3.0.3';
  info: { title: string; version: string; description: string };
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: Record<string, Record<string, unknown>>;
}

/** The docs' own routes, the development-only sandbox and the console's page are left out of the document. */
const UNDOCUMENTED = /^\/(docs|sandbox|console)(\/|$)/;

/** Who may call a route of each access kind (as the AuthGuard decides it). */
export const CALLERS: Record<Access | 'public', string> = {
  public: 'no Herald key (public, or authenticated by a provider signature)',
  root: "the operator's root key",
  admin: 'an admin key of the tenant',
  ingest: 'an ingest or admin key of the tenant',
  inbox:
    "an inbox token for one subscriber, or an admin key with ?subscriberId=; the token may also be sent as ?token= (EventSource can't set headers)",
};

const JSON_MEDIA_TYPE = 'application/json';
const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const PROBLEM = { $ref: '#/components/schemas/Problem' };

/** Every route of every controller, read from Nest's own decorator metadata. */
export function discoverRoutes(discovery: DiscoveryService, scanner: MetadataScanner): Route[] {
  const routes: Route[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
    if (!controller) continue;
    const prefixes = list<string>(Reflect.getMetadata(PATH_METADATA, controller) ?? '/');
    for (const name of scanner.getAllMethodNames(controller.prototype)) {
      const target = (controller.prototype as Record<string, unknown>)[name] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, target) as string | string[] | undefined;
      if (paths === undefined) continue; // a helper method, not a route handler
      const requestMethod = Reflect.getMetadata(METHOD_METADATA, target) as RequestMethod;
      const headers = (Reflect.getMetadata(HEADERS_METADATA, target) ?? []) as { name: string; value: string }[];
      for (const prefix of prefixes) {
        for (const path of list(paths)) {
          routes.push({
            method: RequestMethod[requestMethod].toLowerCase() as Route['method'],
            path: joinPath(prefix, path),
            status:
              (Reflect.getMetadata(HTTP_CODE_METADATA, target) as number | undefined) ??
              (requestMethod === RequestMethod.POST ? 201 : 200),
            access: (Reflect.getMetadata(ACCESS, target) ?? Reflect.getMetadata(ACCESS, controller)) as
              Access | undefined,
            input: (Reflect.getMetadata(API_INPUT, target) ?? {}) as ApiInputSchemas,
            output: (Reflect.getMetadata(API_OUTPUT, target) ?? {}) as ApiOutputSchemas,
            contentType: headers.find((h) => h.name.toLowerCase() === 'content-type')?.value.split(';')[0],
            handler: `${controller.name}.${name}`,
          });
        }
      }
    }
  }
  return routes.filter((r) => !UNDOCUMENTED.test(r.path));
}

/** The OpenAPI 3.0.3 document for these routes. */
export function buildOpenApiDocument(routes: Route[]): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  const named: Record<string, JsonSchema> = {};
  const sorted = [...routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  for (const route of sorted) {
    (paths[openApiPath(route.path)] ??= {})[route.method] = operation(route, named);
  }
  const tags = [...new Set(sorted.map((r) => group(r.path)))].sort().map((name) => ({ name }));
  return {
    openapi: '3.0.3',
    info: {
      title: 'Herald API',
      version: '1',
      description:
        'Herald, a multi-channel notification platform. Generated from the running code. Every error is ' +
        '`application/problem+json`. Send keys as `Authorization: Bearer <key>`.',
    },
    tags,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A root key, a tenant key (hk_…) or an inbox token' },
        inboxTokenQuery: { type: 'apiKey', in: 'query', name: 'token', description: 'An inbox token (inbox routes)' },
      },
      schemas: { Problem: PROBLEM_SCHEMA, ...sortedByKey(named) },
    },
  };
}

/** The group an operation is listed under: its first path segment after the version (`/v1/events` → events). */
export function group(path: string): string {
  const segments = path.split('/').filter(Boolean);
  return (/^v\d+$/.test(segments[0] ?? '') ? segments[1] : segments[0]) ?? 'root';
}

/** `/v1/events/:id` → `/v1/events/{id}` */
export function openApiPath(path: string): string {
  return path.replace(/:(\w+)/g, '{$1}');
}

function operation(route: Route, named: Record<string, JsonSchema>): Operation {
  const access = route.access ?? 'public';
  const pathParams = [...route.path.matchAll(/:(\w+)/g)].map(([, name]): Parameter => ({
    name: name!,
    in: 'path',
    required: true,
    schema: route.input.params?.[name!] ? jsonSchema(route.input.params[name!]!, 'input') : { type: 'string' },
  }));
  const { body, query, headers, otherBodies = {} } = route.input;
  const parameters = [...pathParams, ...objectParameters(query, 'query'), ...objectParameters(headers, 'header')];
  return {
    operationId: operationId(route.handler),
    tags: [group(route.path)],
    description: `key: ${access} — ${CALLERS[access]}`,
    'x-herald-access': access,
    ...(route.access && {
      security: route.access === 'inbox' ? [{ bearer: [] }, { inboxTokenQuery: [] }] : [{ bearer: [] }],
    }),
    ...(parameters.length && { parameters }),
    ...(body && {
      requestBody: {
        required: !body.safeParse(undefined).success,
        content: {
          [JSON_MEDIA_TYPE]: { schema: jsonSchema(body, 'input') },
          ...Object.fromEntries(
            Object.entries(otherBodies).map(([media, description]) => [media, { schema: { description } }]),
          ),
        },
      },
    }),
    responses: responses(
      route,
      named,
      parameters.length > pathParams.length || body !== undefined,
      pathParams.length > 0,
    ),
  };
}

function responses(
  route: Route,
  named: Record<string, JsonSchema>,
  takesInput: boolean,
  namesSomething: boolean,
): Operation['responses'] {
  const problem = (description: string) => ({ description, content: { [PROBLEM_MEDIA_TYPE]: { schema: PROBLEM } } });
  const { 0: own, ...others } = route.output;
  const success = (status: number, schema: z.ZodType | undefined) => ({
    description: STATUS_CODES[status] ?? 'Success',
    ...(schema
      ? { content: { [route.contentType ?? JSON_MEDIA_TYPE]: { schema: outputSchema(schema, named) } } }
      : route.contentType && status !== 204 && { content: { [route.contentType]: {} } }),
  });
  return {
    [route.status]: success(route.status, own ?? route.output[route.status]),
    ...Object.fromEntries(
      Object.entries(others)
        .filter(([status]) => Number(status) !== route.status)
        .map(([status, schema]) => [status, success(Number(status), schema)]),
    ),
    ...(takesInput && { 400: problem('The input is not valid: `errors` names each field') }),
    ...(route.access && {
      401: problem('No key, or not a valid one'),
      403: problem('A valid key, but not one that may call this route (see the description)'),
    }),
    ...(namesSomething && { 404: problem('Not found (or it belongs to another tenant)') }),
    ...(route.access && { 429: problem("Over this caller's API rate limit: retry after `Retry-After` seconds") }),
  };
}

/** Each property of an object schema as one parameter. */
function objectParameters(schema: z.ZodObject | undefined, where: 'query' | 'header'): Parameter[] {
  if (!schema) return [];
  const { properties = {}, required = [] } = jsonSchema(schema, 'input') as {
    properties?: Record<string, JsonSchema>;
    required?: string[];
  };
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: required.includes(name),
      ...(typeof description === 'string' && { description }),
      schema: rest,
    };
  });
}

/** What JSON cannot carry, so what no response schema may hold (a `z.date()` is sent as its ISO string). */
const NOT_IN_JSON = new Set(['bigint', 'symbol', 'void', 'map', 'set', 'transform', 'nan', 'custom', 'function']);

/**
 * A zod schema as an OpenAPI 3.0 schema: what a client sends (`io: 'input'`: before transforms and defaults), or
 * what a route answers (`io: 'output'`: a `z.date()` is documented as the ISO 8601 string JSON carries).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  if (io === 'input') return z.toJSONSchema(schema, { target: 'openapi-3.0', io }) as JsonSchema;
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any', // dates, turned into strings below; anything else JSON cannot carry is refused
    override: ({ zodSchema, jsonSchema: json }) => {
      const { type } = zodSchema._zod.def;
      if (type === 'date') Object.assign(json, { type: 'string', format: 'date-time' });
      if (NOT_IN_JSON.has(type)) throw new Error(`A response schema holds a ${type}, which JSON cannot carry`);
    },
  }) as JsonSchema;
}

/**
 * A response schema, its named parts (zod schemas with `.meta({ id })`) moved to `components.schemas` and
 * referred to there, so the client's types name them (`components['schemas']['EventView']`).
 */
function outputSchema(schema: z.ZodType, named: Record<string, JsonSchema>): JsonSchema {
  const { definitions = {}, ...json } = jsonSchema(schema, 'output') as JsonSchema & {
    definitions?: Record<string, JsonSchema>;
  };
  const moved = (value: JsonSchema): JsonSchema =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/definitions/', '"#/components/schemas/')) as JsonSchema;
  for (const [id, definition] of Object.entries(definitions)) {
    const schemaOfId = moved(definition);
    if (named[id] && JSON.stringify(named[id]) !== JSON.stringify(schemaOfId)) {
      throw new Error(`Two different response schemas are named ${id}`);
    }
    named[id] = schemaOfId;
  }
  return moved(json);
}

function sortedByKey<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}

/** `WebhookEndpointsController.create` → `webhookEndpoints.create` */
function operationId(handler: string): string {
  const [controller = '', method = ''] = handler.split('.');
  const name = controller.replace(/Controller$/, '');
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}.${method}`;
}

function joinPath(...parts: string[]): string {
  return `/${parts
    .flatMap((p) => p.split('/'))
    .filter(Boolean)
    .join('/')}`;
}

function list<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

/** RFC 9457 problem details, as Herald answers every error (apps/api/src/http/problem.ts). */
const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'Identifies the kind of problem, e.g. `/problems/validation`' },
    title: { type: 'string' },
    status: { type: 'integer', description: 'The HTTP status' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      description: 'Field-level errors (at most 50)',
      items: {
        type: 'object',
        required: ['path', 'message'],
        properties: { path: { type: 'string', example: 'to[0].email' }, message: { type: 'string' } },
      },
    },
    requestId: { type: 'string', description: 'The X-Request-Id of the request, for the logs' },
  },
};
