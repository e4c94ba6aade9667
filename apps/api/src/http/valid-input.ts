import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { API_INPUT, mergeInput, type ApiInputSchemas } from '../docs/api-input.decorator';
import { parse } from './parse';

/**
 * A handler's input, validated and documented by one schema: each decorator parses its part of the request
 * with `parse()` (a 400 naming the field) before the handler runs, and records the same schema for the
 * OpenAPI document (docs/api.md). A route names each schema once, here.
 */

interface BodyOptions {
  /** Further media types the body may come in (e.g. CloudEvents), each with a one-line description. */
  otherBodies?: Record<string, string>;
  /** Requests the handler parses itself (e.g. a CloudEvent, whose body may be JSON too): their body reaches it as sent. */
  unless?: (request: FastifyRequest) => boolean;
}

/** The JSON body, parsed with `schema`. */
export function ValidBody<S extends z.ZodType>(schema: S, options: BodyOptions = {}): ParameterDecorator {
  const { otherBodies, unless } = options;
  return withDocs({ body: schema, otherBodies }, bodyParam({ zod: schema, unless }));
}

/** The query string, parsed with `schema` (each property is a query parameter). */
export function ValidQuery<S extends z.ZodObject>(schema: S): ParameterDecorator {
  return withDocs({ query: schema }, queryParam({ zod: schema }));
}

/** One request header, parsed with `schema` (absent: `undefined`, so make it `.optional()` when it may be). */
export function ValidHeader<S extends z.ZodType>(name: string, schema: S): ParameterDecorator {
  return withDocs({ headers: z.object({ [name]: schema }) }, headerParam({ name, zod: schema }));
}

/** One path parameter, parsed with `schema`. */
export function ValidParam<S extends z.ZodType>(name: string, schema: S): ParameterDecorator {
  return withDocs({ params: { [name]: schema } }, pathParam({ name, zod: schema }));
}

const bodyParam = createParamDecorator(
  (input: { zod: z.ZodType; unless?: (request: FastifyRequest) => boolean }, ctx: ExecutionContext) => {
    const request = ctx.switchToHttp().getRequest<FastifyRequest>();
    return input.unless?.(request) ? request.body : parse(input.zod, request.body);
  },
);

// Each factory takes its schema as `zod` in an object: Nest takes a decorator argument with a `transform` method
// (a zod schema has one) for a pipe, and `{ schema }` for its own Standard Schema options.
const queryParam = createParamDecorator((input: { zod: z.ZodType }, ctx: ExecutionContext) =>
  parse(input.zod, ctx.switchToHttp().getRequest<FastifyRequest>().query, 'query'),
);

const headerParam = createParamDecorator((input: { name: string; zod: z.ZodType }, ctx: ExecutionContext) => {
  const value = ctx.switchToHttp().getRequest<FastifyRequest>().headers[input.name.toLowerCase()];
  return parse(input.zod, value, `${input.name} header`);
});

const pathParam = createParamDecorator((input: { name: string; zod: z.ZodType }, ctx: ExecutionContext) => {
  const params = ctx.switchToHttp().getRequest<FastifyRequest>().params as Record<string, string>;
  return parse(input.zod, params[input.name], input.name);
});

/** Applies the param decorator and merges `schemas` into the handler's documented input. */
function withDocs(schemas: ApiInputSchemas, param: ParameterDecorator): ParameterDecorator {
  return (target, key, index) => {
    const handler = (target as Record<string | symbol, object>)[key!]!;
    Reflect.defineMetadata(API_INPUT, mergeInput(Reflect.getMetadata(API_INPUT, handler), schemas), handler);
    param(target, key, index);
  };
}
