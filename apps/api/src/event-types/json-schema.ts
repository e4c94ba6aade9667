import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { RegExpEngine } from 'ajv/dist/types';
import addFormats from 'ajv-formats';
import { RE2JS } from 're2js';
import { childPointer, isJsonObject } from '@herald/core';
import type { FieldError } from '../http/problem';

/** At most this many violations are listed in one answer. */
const MAX_ERRORS = 50;
/**
 * Limits on what a tenant may publish. Schemas run inside the shared api process on every ingest, so
 * one tenant's schema must not be able to stall everyone's: a large schema is slow to compile, an
 * unbounded `uniqueItems` (quadratic) slow to check. Patterns cannot backtrack at all: see linearRegExp.
 */
export const MAX_SCHEMA_BYTES = 64 * 1024;
const MAX_UNIQUE_ITEMS = 1000;
/** Keywords whose values are data, not schemas. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'examples', 'default']);
/** Keywords whose values map names (chosen by the tenant) to schemas. */
const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'dependencies']);

/**
 * The engine for `pattern` and `patternProperties`: RE2 (re2js, a pure-JS port) matches in time linear
 * in the input, whatever the pattern, so no tenant's pattern can hold the event loop the way a
 * backtracking one does in JavaScript's own engine (`^(\w|\d)+$` against 28 digits and a "!" took
 * 2.6 s there, doubling with each digit). RE2 has no lookaround or backreferences: a pattern using them
 * is refused when published (patternErrors).
 */
const linearRegExp: RegExpEngine = Object.assign(
  (pattern: string) => {
    const re2 = RE2JS.compile(pattern);
    // toString is ajv's key for sharing one compiled pattern between the places that use it.
    return { test: (input: string) => re2.test(input), toString: () => `re2:${pattern}` };
  },
  { code: 'require("re2js").RE2JS.compile' },
);

// One compiler for the process. strict: false, because schemas are the tenants' own documents and may
// carry keywords Herald does not know (vendor annotations); the meta-schema check still runs.
const ajv = new Ajv({
  allErrors: true,
  strict: false,
  validateSchema: true,
  addUsedSchema: false,
  code: { regExp: linearRegExp },
});
addFormats(ajv);

export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; errors: FieldError[] };

/** Checks a tenant's JSON Schema (draft-07) and compiles it, or says why it is not a usable one. */
export function compileSchema(schema: unknown): CompiledSchema {
  if (!isJsonObject(schema)) return refused('', 'expects a JSON Schema object');
  if (schema.type !== 'object') return refused('/type', 'expects "object": an event\'s data is always a JSON object');
  if (JSON.stringify(schema).length > MAX_SCHEMA_BYTES) {
    return refused('', `expects at most ${MAX_SCHEMA_BYTES / 1024} KiB of schema`);
  }
  if (!ajv.validateSchema(schema)) return { ok: false, errors: pointerErrors(ajv.errors ?? [], '') };
  const risky = riskyKeywords(schema, '');
  if (risky.length) return { ok: false, errors: risky };
  try {
    return { ok: true, validate: ajv.compile(schema) };
  } catch (err) {
    // An unresolvable $ref, say: Herald never fetches schemas from elsewhere. ajv cached it before failing.
    releaseSchema(schema);
    return refused('', (err as Error).message);
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

/** Patterns RE2 cannot run, and uniqueItems without a small maxItems, anywhere in the schema. */
function riskyKeywords(node: unknown, at: string): FieldError[] {
  if (Array.isArray(node)) return node.flatMap((item, i) => riskyKeywords(item, childPointer(at, String(i))));
  if (!isJsonObject(node)) return [];
  const found: FieldError[] = [];
  const patterns = [
    ...(typeof node.pattern === 'string' ? [[childPointer(at, 'pattern'), node.pattern]] : []),
    ...Object.keys(isJsonObject(node.patternProperties) ? node.patternProperties : {}).map((p) => [
      childPointer(childPointer(at, 'patternProperties'), p),
      p,
    ]),
  ];
  for (const [path, pattern] of patterns) {
    const error = patternError(pattern!);
    if (error) found.push({ path: path!, message: error });
  }
  if (node.uniqueItems === true && !(typeof node.maxItems === 'number' && node.maxItems <= MAX_UNIQUE_ITEMS)) {
    found.push({
      path: childPointer(at, 'uniqueItems'),
      message: `expects maxItems of at most ${MAX_UNIQUE_ITEMS} beside it (checking uniqueness is quadratic)`,
    });
  }
  for (const [key, child] of Object.entries(node)) {
    if (DATA_KEYWORDS.has(key)) continue;
    if (NAME_MAPS.has(key) && isJsonObject(child)) {
      for (const [name, schema] of Object.entries(child)) {
        found.push(...riskyKeywords(schema, childPointer(childPointer(at, key), name)));
      }
    } else {
      found.push(...riskyKeywords(child, childPointer(at, key)));
    }
  }
  return found;
}

/** Why RE2 cannot run a pattern (lookaround, backreferences, a repeat over 1,000…), or null. */
function patternError(pattern: string): string | null {
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    return `expects a pattern without lookaround or backreferences (patterns run on RE2): ${(err as Error).message}`;
  }
}

function refused(path: string, message: string): CompiledSchema {
  return { ok: false, errors: [{ path: path || '/', message }] };
}

function pointerErrors(errors: ErrorObject[], prefix: string): FieldError[] {
  return errors.slice(0, MAX_ERRORS).map((error) => {
    // A missing or an extra property is reported on its parent; point at the property itself.
    const member =
      error.keyword === 'required'
        ? String(error.params.missingProperty)
        : error.keyword === 'additionalProperties'
          ? String(error.params.additionalProperty)
          : undefined;
    const path = `${prefix}${error.instancePath}`;
    return {
      path: (member === undefined ? path : childPointer(path, member)) || '/',
      message: error.message ?? 'is not valid',
    };
  });
}
