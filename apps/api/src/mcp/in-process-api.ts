import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CORRELATION_HEADER, correlationOf } from '@herald/observability';

/** A refusal of the API, as its problem+json said it: an MCP tool answers it as its error. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly problem: { title?: string; detail?: string; errors?: { path: string; message: string }[] },
  ) {
    const fields = (problem.errors ?? []).map((e) => `${e.path}: ${e.message}`).join('; ');
    super(`${status} ${problem.title ?? 'refused'}: ${problem.detail ?? ''}${fields ? ` (${fields})` : ''}`.trim());
  }
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  headers?: Record<string, string | undefined>;
}

/**
 * Herald's own HTTP API, called in process (Fastify's inject) with the MCP caller's key: an MCP tool
 * takes the same route as a client would, so it meets the same authentication, scope, validation,
 * rate limit, audit and tenant scoping — there is no second path to the data. The audit interceptor
 * reads resources the same way.
 */
export class InProcessApi {
  private readonly headers: Record<string, string>;

  constructor(
    private readonly fastify: FastifyInstance,
    request: FastifyRequest,
  ) {
    this.headers = {
      authorization: request.headers.authorization ?? '',
      // the MCP request's correlation id follows the calls it makes, so logs line up
      [CORRELATION_HEADER]: correlationOf(request.raw).id,
      'user-agent': 'herald-mcp',
    };
  }

  /** The answer's JSON body (null for an empty one); a 4xx or 5xx becomes an ApiRefusal. */
  async call<T = unknown>({ method, path, query, body, headers }: ApiCall): Promise<T> {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) search.set(key, String(value));
    const response = await this.fastify.inject({
      method,
      url: search.size ? `${path}?${search}` : path,
      headers: {
        ...this.headers,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...Object.fromEntries(Object.entries(headers ?? {}).filter(([, v]) => v !== undefined)),
      },
      ...(body !== undefined && { payload: JSON.stringify(body) }),
    });
    const parsed: unknown = response.body ? JSON.parse(response.body) : null;
    if (response.statusCode >= 400) throw new ApiRefusal(response.statusCode, (parsed ?? {}) as never);
    return parsed as T;
  }
}

/** A path segment from a tool's argument: encoded, so an id cannot reach another route. */
export const segment = (value: string) => encodeURIComponent(value);
