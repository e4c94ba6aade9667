import type { z } from 'zod';
import { Problem, type FieldError } from './problem';

/** Parses untrusted input with a zod schema; failure is a 400 whose errors name each field. */
export function parse<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error, where);
  throw Problem.badRequest(`The ${where} has ${errors.length === 1 ? 'an invalid field' : 'invalid fields'}`, errors);
}

/** At most 50 field errors, each with its path under `where` ('body' paths are left bare). */
export function fieldErrors(error: z.ZodError, where: string): FieldError[] {
  const prefix = where === 'body' ? '' : where;
  return error.issues.slice(0, 50).map((issue) => {
    const path = fieldPath(issue.path);
    return {
      path: prefix && path ? `${prefix}${path.startsWith('[') ? '' : '.'}${path}` : path || prefix || 'body',
      message: issue.message,
    };
  });
}

/** ['to', 0, 'email'] → 'to[0].email' */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`)).join('');
}
