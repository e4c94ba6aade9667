/**
 * The api's routes as its own OpenAPI document lists them (generated from the Nest router), so the
 * security suites cover an endpoint as soon as it exists, without a list here to keep in step.
 */
export type Access = 'public' | 'root' | 'admin' | 'ingest' | 'inbox';

export interface JsonSchema {
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
}

export interface Route {
  method: string;
  /** Nest's form: `/v1/events/:id` */
  path: string;
  access: Access;
  pathParams: string[];
  query: { name: string; schema: JsonSchema }[];
  headers: { name: string; schema: JsonSchema }[];
  body?: JsonSchema;
  /** The media type of a successful answer when it is not JSON (`text/event-stream`, `text/xml`…). */
  successType?: string;
}

interface Operation {
  'x-herald-access': Access;
  parameters?: { name: string; in: 'path' | 'query' | 'header'; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, { content?: Record<string, unknown> }>;
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

export async function documentedRoutes(baseUrl: string): Promise<Route[]> {
  const response = await fetch(`${baseUrl}/docs/openapi.json`);
  if (response.status !== 200) throw new Error(`/docs/openapi.json answered ${response.status}`);
  const document = (await response.json()) as { paths: Record<string, Record<string, Operation>> };
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]): Route => {
        const params = op.parameters ?? [];
        const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'))?.[1];
        const successType = Object.keys(success?.content ?? {}).find((type) => type !== 'application/json');
        return {
          method: method.toUpperCase(),
          path: path.replace(/\{(\w+)\}/g, ':$1'),
          access: op['x-herald-access'],
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          query: params.filter((p) => p.in === 'query'),
          headers: params.filter((p) => p.in === 'header'),
          body: op.requestBody?.content['application/json']?.schema,
          successType,
        };
      }),
  );
}

/** Server-Sent Events routes write their own headers, so the document cannot say so: known by name. */
export const isStream = (route: Route) => route.path.endsWith('/stream');

/** `/v1/events/:id` with `{ id: 'x y' }` → `/v1/events/x%20y` */
export function fillPath(path: string, values: (name: string) => string): string {
  return path.replace(/:(\w+)/g, (_, name: string) => encodePart(values(name)));
}

/** encodeURIComponent, with lone surrogates (which it refuses) sent as U+FFFD. */
export function encodePart(text: string): string {
  return encodeURIComponent(
    text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'),
  );
}

/** The routes' summary for a failure message. */
export const describeRoute = (route: Route) => `${route.method} ${route.path}`;
