import { sameJson } from './json';
import { childPointer } from './json-pointer';

/** A draft-07 JSON Schema: an object, or `true` (accepts anything) / `false` (accepts nothing). */
export type JsonSchema = Record<string, unknown> | boolean;

export interface Incompatibility {
  // JSON Pointer into the data the change affects, e.g. "/customer/email" or "/items/*/sku" ("" = the root);
  // a `*` token stands for every item of an array or every additional property of an object.
  // (A line comment: the example's "*/" would end a block comment.)
  path: string;
  /**
   * short machine code: 'property-removed' | 'type-changed' | 'required-added' | 'enum-narrowed' |
   * 'additional-properties-restricted' | 'constraint-tightened' | 'unsupported-change'
   */
  change: string;
  /** one human sentence, e.g. "property `email` was removed" */
  message: string;
}

/**
 * Why a new version of an event type's schema would break producers or consumers of the previous one:
 * data the previous schema accepted that the next may refuse, or a property consumers relied on that is gone.
 * Conservative: a change Herald cannot reason about (composites, `$ref`, unknown keywords) is reported too.
 * Empty when compatible; sorted by path.
 */
export function schemaIncompatibilities(previous: JsonSchema, next: JsonSchema): Incompatibility[] {
  return compare(previous, next, '').sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

type Schema = Record<string, unknown>;
type Kind = 'object' | 'array' | 'string' | 'number' | 'any';

const UNPROVABLE = 'Herald cannot prove that compatible';

// Never change what validates, so never break anyone.
const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', '$comment', '$id', '$schema']);
const LOWER_BOUNDS: Record<string, Kind> = {
  minLength: 'string',
  minimum: 'number',
  exclusiveMinimum: 'number',
  minItems: 'array',
  minProperties: 'object',
};
const UPPER_BOUNDS: Record<string, Kind> = {
  maxLength: 'string',
  maximum: 'number',
  exclusiveMaximum: 'number',
  maxItems: 'array',
  maxProperties: 'object',
};
// Any added or changed value narrows what is accepted (ajv-formats also has number formats, hence 'any').
const EXACT_CONSTRAINTS: Record<string, Kind> = { pattern: 'string', format: 'any' };
// Keywords a rule below understands; every other non-annotation keyword must stay deep-equal.
const UNDERSTOOD = new Set([
  'type',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'multipleOf',
  'uniqueItems',
  ...Object.keys(LOWER_BOUNDS),
  ...Object.keys(UPPER_BOUNDS),
  ...Object.keys(EXACT_CONSTRAINTS),
]);

function compare(previous: JsonSchema, next: JsonSchema, path: string): Incompatibility[] {
  // Nothing was valid before, so nothing valid before can be refused now.
  if (previous === false || sameJson(previous, next)) return [];
  if (next === false) return [{ path, change: 'type-changed', message: `${where(path)} no longer accepts any value` }];
  const before = previous === true ? {} : previous;
  const after = next === true ? {} : next;
  const found = [
    ...typeChanges(before, after, path),
    ...enumNarrowing(before, after, path),
    ...tightenedConstraints(before, after, path),
    ...unsupportedChanges(before, after, path),
  ];
  // Object and array keywords only constrain objects and arrays: once either version refuses the kind
  // (reported as type-changed), comparing its keywords would only repeat that finding.
  if (bothAccept(before, after, 'object')) {
    found.push(
      ...propertyChanges(before, after, path),
      ...requiredAdditions(before, after, path),
      ...additionalPropertiesRestriction(before, after, path),
    );
  }
  if (bothAccept(before, after, 'array')) found.push(...itemsChanges(before, after, path));
  return found;
}

/** Every type the previous version accepted must still be accepted; `integer` data is still a `number`. */
function typeChanges(before: Schema, after: Schema, path: string): Incompatibility[] {
  const allowed = typesOf(after);
  if (!allowed) return [];
  const previous = typesOf(before);
  if (!previous) {
    return [{ path, change: 'type-changed', message: `${where(path)} is now restricted to ${allowed.join(' or ')}` }];
  }
  const lost = previous.filter((t) => !allowed.includes(t) && !(t === 'integer' && allowed.includes('number')));
  if (lost.length === 0) return [];
  return [
    {
      path,
      change: 'type-changed',
      message: `${where(path)} no longer accepts ${lost.join(' or ')} (now ${allowed.join(' or ')})`,
    },
  ];
}

/** Every value an `enum`/`const` allowed before must still be allowed; adding one where there was none narrows. */
function enumNarrowing(before: Schema, after: Schema, path: string): Incompatibility[] {
  const allowed = valuesOf(after);
  if (!allowed) return [];
  const previous = valuesOf(before);
  if (!previous) {
    return [{ path, change: 'enum-narrowed', message: `${where(path)} is now restricted to ${listValues(allowed)}` }];
  }
  const lost = previous.filter((v) => !allowed.some((a) => sameJson(a, v)));
  if (lost.length === 0) return [];
  return [{ path, change: 'enum-narrowed', message: `${where(path)} no longer accepts ${listValues(lost)}` }];
}

function tightenedConstraints(before: Schema, after: Schema, path: string): Incompatibility[] {
  const found: Incompatibility[] = [];
  const tightened = (message: string) => found.push({ path, change: 'constraint-tightened', message });
  for (const [bounds, lower] of [
    [LOWER_BOUNDS, true],
    [UPPER_BOUNDS, false],
  ] as const) {
    for (const [keyword, kind] of Object.entries(bounds)) {
      const [was, now] = [before[keyword], after[keyword]];
      if (now === undefined || !bothAccept(before, after, kind) || sameJson(was, now)) continue;
      if (was === undefined) tightened(`${where(path)} gained ${keyword} ${String(now)}`);
      // Non-numbers (e.g. draft-04 boolean exclusiveMinimum) cannot be ordered: any change counts.
      else if (typeof was !== 'number' || typeof now !== 'number' || (lower ? now > was : now < was)) {
        tightened(`${where(path)} ${keyword} ${lower ? 'raised' : 'lowered'} from ${String(was)} to ${String(now)}`);
      }
    }
  }
  for (const [keyword, kind] of Object.entries(EXACT_CONSTRAINTS)) {
    const [was, now] = [before[keyword], after[keyword]];
    if (now === undefined || !bothAccept(before, after, kind) || sameJson(was, now)) continue;
    tightened(`${where(path)} ${keyword} ${was === undefined ? 'added' : 'changed'}: ${String(now)}`);
  }
  // A new multipleOf still accepts every old value only if it divides the old one (10 → 5 is fine).
  const [wasStep, step] = [before.multipleOf, after.multipleOf];
  if (step !== undefined && bothAccept(before, after, 'number') && !sameJson(wasStep, step)) {
    const divides = typeof wasStep === 'number' && typeof step === 'number' && Number.isInteger(wasStep / step);
    if (!divides) tightened(`${where(path)} must now be a multiple of ${String(step)}`);
  }
  if (after.uniqueItems === true && before.uniqueItems !== true && bothAccept(before, after, 'array')) {
    tightened(`${where(path)} now requires unique items`);
  }
  return found;
}

/** Composites, `$ref`, `definitions` and keywords we do not know: Herald cannot prove a change safe, so it refuses it. */
function unsupportedChanges(before: Schema, after: Schema, path: string): Incompatibility[] {
  const keywords = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return keywords
    .filter((k) => !UNDERSTOOD.has(k) && !ANNOTATIONS.has(k) && !sameJson(before[k], after[k]))
    .map((k) => ({
      path,
      change: 'unsupported-change',
      message: `\`${k}\` of ${where(path)} changed; ${UNPROVABLE}`,
    }));
}

/**
 * Removing a property breaks consumers that read it (even if additionalProperties would still let it through).
 * A new property is optional here (required-added covers the rest) and so compatible — unless the previous
 * version typed extra properties with an additionalProperties schema, which the new property must still honour.
 */
function propertyChanges(before: Schema, after: Schema, path: string): Incompatibility[] {
  const [was, now] = [recordOf(before.properties), recordOf(after.properties)];
  const found: Incompatibility[] = [];
  for (const [name, schema] of Object.entries(was)) {
    if (!Object.hasOwn(now, name)) {
      found.push({
        path: childPointer(path, name),
        change: 'property-removed',
        message: `property \`${name}\` was removed`,
      });
    } else found.push(...compare(schema as JsonSchema, now[name] as JsonSchema, childPointer(path, name)));
  }
  const extra = before.additionalProperties;
  if (isSchemaObject(extra)) {
    for (const [name, schema] of Object.entries(now)) {
      if (!Object.hasOwn(was, name)) found.push(...compare(extra, schema as JsonSchema, childPointer(path, name)));
    }
  }
  return found;
}

/** A property that was optional (or did not exist) and is now required refuses data without it. */
function requiredAdditions(before: Schema, after: Schema, path: string): Incompatibility[] {
  const was = new Set(stringsOf(before.required));
  return stringsOf(after.required)
    .filter((name) => !was.has(name))
    .map((name) => ({
      path: childPointer(path, name),
      change: 'required-added',
      message: `property \`${name}\` is now required`,
    }));
}

function additionalPropertiesRestriction(before: Schema, after: Schema, path: string): Incompatibility[] {
  const was = (before.additionalProperties ?? true) as JsonSchema;
  const now = (after.additionalProperties ?? true) as JsonSchema;
  if (was === false || now === true) return [];
  const restricted = (how: string) => [
    { path, change: 'additional-properties-restricted', message: `${where(path)} ${how}` },
  ];
  if (now === false) return restricted('no longer accepts additional properties');
  // From "anything" to a schema: one finding for the object, not a type-changed under "/*".
  if (was === true) return compare(true, now, path).length ? restricted('now restricts its additional properties') : [];
  return compare(was, now, childPointer(path, '*'));
}

/** Only the single-schema form of `items` is understood; a tuple form must stay exactly as it was. */
function itemsChanges(before: Schema, after: Schema, path: string): Incompatibility[] {
  const [was, now] = [before.items ?? true, after.items ?? true];
  if (Array.isArray(was) || Array.isArray(now)) {
    if (sameJson(was, now)) return [];
    return [
      { path, change: 'unsupported-change', message: `tuple \`items\` of ${where(path)} changed; ${UNPROVABLE}` },
    ];
  }
  return compare(was as JsonSchema, now as JsonSchema, childPointer(path, '*'));
}

function typesOf(schema: Schema): string[] | undefined {
  const { type } = schema;
  return typeof type === 'string' ? [type] : Array.isArray(type) ? stringsOf(type) : undefined;
}

/** Whether both versions let data of this kind through (a schema without `type` accepts every kind). */
function bothAccept(before: Schema, after: Schema, kind: Kind): boolean {
  const accepts = (schema: Schema) => {
    const types = typesOf(schema);
    if (kind === 'any' || !types) return true;
    return types.includes(kind) || (kind === 'number' && types.includes('integer'));
  };
  return accepts(before) && accepts(after);
}

function valuesOf(schema: Schema): unknown[] | undefined {
  if ('const' in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
}

function listValues(values: unknown[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

function recordOf(value: unknown): Schema {
  return isSchemaObject(value) ? value : {};
}

function isSchemaObject(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function where(path: string): string {
  return path === '' ? 'the data' : `\`${path}\``;
}
