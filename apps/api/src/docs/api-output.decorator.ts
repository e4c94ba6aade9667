import type { z } from 'zod';

export const API_OUTPUT = 'herald:api-output';

/** A route's success bodies: the schema of each status it answers with a body. */
export type ApiOutputSchemas = Record<number, z.ZodType>;

/**
 * What TypeScript holds a handler's answer to: the schema's output with its string literals widened to `string`
 * (the database types channels and statuses as strings). Field names, nesting, optionality, nullability and
 * dates are checked here; the values themselves by test/e2e/response-contracts.test.ts.
 */
type Loose<T> = T extends string
  ? string
  : T extends Date
    ? Date
    : T extends readonly (infer E)[]
      ? Loose<E>[]
      : T extends object
        ? { [K in keyof T]: Loose<T[K]> }
        : T;

type Handler<Output> = (...args: never[]) => Loose<Output> | Promise<Loose<Output>>;

/**
 * Declares what a route answers on success, as a zod schema (the contract's one source): the OpenAPI document
 * shows it under the route's status (or under each status given), @herald/client's types are generated from it,
 * and TypeScript checks that the handler returns that shape. `z.date()` is documented as an ISO 8601 string,
 * as JSON carries it. A route that answers with a body under more than one status names the schema of each:
 * `@Returns({ 202: accepted, 207: batch })`, `@Returns({ 200: subscriber, 201: subscriber })`.
 */
export function Returns<S extends z.ZodType>(
  schema: S,
): <F extends Handler<z.output<S>>>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<F>,
) => void;
export function Returns<M extends ApiOutputSchemas>(
  byStatus: M,
): <F extends Handler<z.output<M[keyof M]>>>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<F>,
) => void;
/**
 * Documents without the type check, for a handler whose answer TypeScript cannot see the shape of (e.g. a JSON
 * column typed `JsonValue` in a view this module does not own); the response test still checks it.
 */
export function Returns(
  schemas: z.ZodType | ApiOutputSchemas,
  options: { checked: false },
): (target: object, key: string | symbol, descriptor: PropertyDescriptor) => void;
export function Returns(schemas: z.ZodType | ApiOutputSchemas, _options?: { checked: false }) {
  return (_target: object, _key: string | symbol, descriptor: PropertyDescriptor): void => {
    // A zod schema is a class instance; the by-status form is a plain object keyed by status codes.
    const output = isZodSchema(schemas) ? { 0: schemas } : schemas;
    Reflect.defineMetadata(API_OUTPUT, output, descriptor.value as object);
  };
}

function isZodSchema(value: object): value is z.ZodType {
  return '_zod' in value;
}
