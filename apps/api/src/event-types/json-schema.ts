import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FieldError } from '../http/problem';

/** At most this many violations are listed in one answer. */
const MAX_ERRORS = 50;

// One compiler for the process. strict: false, because schemas are the tenants' own documents and may
// carry keywords Herald does not know (vendor annotations); the meta-schema check still runs.
const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true, addUsedSchema: false });
addFormats(ajv);

export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; errors: FieldError[] };

/** Compiles a tenant's JSON Schema (draft-07), or says why it is not a usable one. */
export function compileSchema(schema: unknown): CompiledSchema {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    return { ok: false, errors: [{ path: 'body', message: 'expects a JSON Schema object' }] };
  }
  if ((schema as { type?: unknown }).type !== 'object') {
    return {
      ok: false,
      errors: [{ path: '/type', message: 'expects "object": an event\'s data is always a JSON object' }],
    };
  }
  if (!ajv.validateSchema(schema)) {
    return { ok: false, errors: pointerErrors(ajv.errors ?? [], '') };
  }
  try {
    return { ok: true, validate: ajv.compile(schema) };
  } catch (err) {
    // An unresolvable $ref, say: Herald never fetches schemas from elsewhere.
    return { ok: false, errors: [{ path: 'body', message: (err as Error).message }] };
  }
}

/** Drops a compiled schema from ajv's own cache (it keeps every schema it compiled otherwise). */
export function releaseSchema(schema: object): void {
  ajv.removeSchema(schema);
}

/** Checks an event's data; the violations name JSON Pointers into the event (`/data/...`). */
export function dataErrors(validate: ValidateFunction, data: unknown): FieldError[] {
  return validate(data) ? [] : pointerErrors(validate.errors ?? [], '/data');
}

function pointerErrors(errors: ErrorObject[], prefix: string): FieldError[] {
  return errors.slice(0, MAX_ERRORS).map((error) => {
    // A missing property is reported on its parent; point at the property itself.
    const missing = error.keyword === 'required' ? `/${escape(String(error.params.missingProperty))}` : '';
    const extra = error.keyword === 'additionalProperties' ? `/${escape(String(error.params.additionalProperty))}` : '';
    return {
      path: `${prefix}${error.instancePath}${missing}${extra}` || '/',
      message: error.message ?? 'is not valid',
    };
  });
}

/** RFC 6901: `~` and `/` inside a property name. */
function escape(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}
