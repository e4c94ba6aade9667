import type { z } from 'zod';

export const API_INPUT = 'herald:api-input';

/** The zod schemas a handler's input is checked with, as the OpenAPI document shows them. */
export interface ApiInputSchemas {
  /** The JSON body. A schema that accepts `undefined` (`.optional()`) marks the body itself optional. */
  body?: z.ZodType;
  /** The query string: each property is a query parameter. */
  query?: z.ZodObject;
  /** Request headers, keyed by header name: each property is a header parameter. */
  headers?: z.ZodObject;
  /** Path parameters by name (a path parameter without one is documented as a string). */
  params?: Record<string, z.ZodType>;
  /** Further media types the body may come in (e.g. CloudEvents), each with a one-line description. */
  otherBodies?: Record<string, string>;
}

/**
 * Documents input a handler reads but does not validate (e.g. tracing headers, read leniently). Validated input
 * is declared by the decorators of apps/api/src/http/valid-input.ts, which document it themselves.
 */
export const ApiInput =
  (schemas: ApiInputSchemas): MethodDecorator =>
  (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    Reflect.defineMetadata(API_INPUT, mergeInput(Reflect.getMetadata(API_INPUT, handler), schemas), handler);
  };

/** `added` over `existing`; headers, path parameters and other bodies are merged name by name. */
export function mergeInput(existing: ApiInputSchemas | undefined, added: ApiInputSchemas): ApiInputSchemas {
  const defined = Object.fromEntries(Object.entries(added).filter(([, value]) => value !== undefined));
  const merged: ApiInputSchemas = { ...existing, ...defined };
  if (existing?.headers && added.headers) merged.headers = existing.headers.extend(added.headers.shape);
  if (existing?.params && added.params) merged.params = { ...existing.params, ...added.params };
  if (existing?.otherBodies && added.otherBodies)
    merged.otherBodies = { ...existing.otherBodies, ...added.otherBodies };
  return merged;
}
