import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { UNSTORABLE_TEXT_MESSAGE, unstorableTextPaths } from '@herald/core';
import { fieldPath } from './parse';
import { Problem, type FieldError } from './problem';

declare module 'fastify' {
  interface FastifyContextConfig {
    heraldTextCheckedPerEvent?: boolean;
  }
}

/**
 * For ingest routes: their events are checked for unstorable text one by one (eventInputSchema), so a
 * batch answers 207 with the one bad event refused instead of a 400 for all of them, and a hook's body
 * is judged by what its mapping takes from it.
 */
export const TextCheckedPerEvent = () => RouteConfig({ heraldTextCheckedPerEvent: true });

/**
 * The 400 for a request carrying text Postgres cannot store (libs/core storable-text.ts) in its route
 * parameters, query or body, or undefined. Run before every route, so no handler has to remember it.
 */
export function unstorableTextProblem(request: FastifyRequest): Problem | undefined {
  const perEvent = request.routeOptions.config?.heraldTextCheckedPerEvent === true;
  const errors: FieldError[] = [
    ...named(request.params, (path) => `${fieldPath(path)} (path)`),
    ...named(request.query, (path) => `query.${fieldPath(path)}`),
    ...(perEvent ? [] : named(request.body, (path) => fieldPath(path) || 'body')),
  ];
  if (!errors.length) return undefined;
  return Problem.badRequest(
    `The request has text that cannot be stored: ${errors.map((e) => e.path).join(', ')}`,
    errors.slice(0, 50),
  );
}

function named(value: unknown, pathOf: (path: (string | number)[]) => string): FieldError[] {
  return unstorableTextPaths(value).map((path) => ({ path: pathOf(path), message: UNSTORABLE_TEXT_MESSAGE }));
}
