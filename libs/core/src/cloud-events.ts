/**
 * CloudEvents 1.0 → Herald event, for `POST /v1/events` in structured, binary and batch mode. The
 * mapping (which attribute becomes what) is documented once, in docs/event-contracts.md; this file
 * is its implementation. A JSON `null` attribute counts as absent (JSON event format); in binary mode
 * every `ce-*` header value is percent-decoded (HTTP binding), so extension values arrive as strings,
 * and `ce-datacontenttype` is not allowed (the binding puts it in `Content-Type`). Errors name the
 * attribute as the sender wrote it: `type`, `data`, `subject` when structured; `ce-type`,
 * `content-type`, `body` in binary mode.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  MAX_BATCH_EVENTS,
  eventInputSchema,
  eventTypeSchema,
  recipientSchema,
  schemaVersionSchema,
  timestampSchema,
  topicKeySchema,
  type Addressee,
  type EventInput,
} from './event-input';
import { traceIdOf } from './trace-context';
import { isStorableText } from './storable-text';

export const CLOUDEVENTS_MEDIA_TYPE = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH_MEDIA_TYPE = 'application/cloudevents-batch+json';

export type CloudEventExtensionValue = string | number | boolean;

/** What Herald keeps of a CloudEvent's context beside the mapped event (the `cloud_event` column). */
export interface CloudEventContext {
  id: string;
  source: string;
  specversion: '1.0';
  subject?: string;
  dataschema?: string;
  datacontenttype?: string;
  extensions?: Record<string, CloudEventExtensionValue>;
}

export interface CloudEventIngest {
  /** validated with eventInputSchema */
  input: EventInput;
  idempotencyKey: string;
  /** the event's `time`, as an ISO timestamp in UTC */
  occurredAt?: string;
  schemaVersion?: number;
  /** a valid W3C traceparent from the `traceparent` extension */
  traceParent?: string;
  cloudEvent: CloudEventContext;
}

export interface CloudEventError {
  path: string;
  message: string;
}

export type CloudEventResult = { ok: true; value: CloudEventIngest } | { ok: false; errors: CloudEventError[] };

type HttpHeaders = Record<string, string | string[] | undefined>;

/** A binary-mode header that could not be read: already reported, so not checked again. */
const UNREADABLE = Symbol('unreadable header');

/** One event's attributes as read from either mode, and how to name an attribute back to its sender. */
interface Envelope {
  /** attribute name → value; absent and null attributes are not here */
  attributes: Map<string, unknown>;
  /** undefined when the event has no data */
  data: unknown;
  pathOf(attribute: string): string;
}

const MAX_ERRORS = 50;
const REQUIRED = ['specversion', 'id', 'source', 'type'];
const SPEC_ATTRIBUTES = new Set([...REQUIRED, 'datacontenttype', 'dataschema', 'subject', 'time']);
/** Extensions Herald reads itself rather than keeping. */
const HERALD_EXTENSIONS = new Set(['heraldtopic', 'heraldsendat', 'traceparent']);
const ATTRIBUTE_NAME = /^[a-z0-9]{1,50}$/;
// The CloudEvents String type excludes control characters (U+0000–U+001F, U+007F–U+009F).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
/** RFC 3986 characters, with `%` only as a percent-encoded octet. */
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;
const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
/** RFC 3339 date-time: seconds required, `T`/`Z` in either case; the calendar is checked by zod below. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;
/** `2` in `2`, `v2`, `order-shipped-v2`, `2.json`; nothing in `v1.2`, whose version is not one number. */
const TRAILING_VERSION = /(?:^|[^0-9.])(\d{1,10})(?:\.json)?$/i;

/** A structured-mode CloudEvent (also each item of a batch): the parsed JSON body. */
export function fromStructured(body: unknown): CloudEventResult {
  if (!isJsonObject(body)) {
    return failure('body', 'expects a CloudEvent: a JSON object with specversion, id, source and type');
  }
  const errors: CloudEventError[] = [];
  const attributes = new Map<string, unknown>();
  let data: unknown;
  for (const [name, value] of Object.entries(body)) {
    if (value === null) continue;
    if (name === 'data') {
      data = value;
    } else if (name === 'data_base64') {
      errors.push({ path: name, message: 'binary data is not accepted: send a JSON object in data' });
    } else {
      attributes.set(name, value);
    }
  }
  return mapEnvelope({ attributes, data, pathOf: (attribute) => attribute }, errors);
}

/**
 * A binary-mode CloudEvent: the request headers (any case), its body (parsed JSON, or the raw text or
 * bytes; undefined when empty) and its Content-Type, which is the event's `datacontenttype`.
 */
export function fromBinary(headers: HttpHeaders, body: unknown, contentType: string | undefined): CloudEventResult {
  const errors: CloudEventError[] = [];
  const attributes = new Map<string, unknown>();
  for (const [rawName, rawValue] of Object.entries(headers)) {
    const header = rawName.toLowerCase();
    if (!header.startsWith('ce-') || rawValue === undefined) continue;
    const name = header.slice('ce-'.length);
    if (name === 'datacontenttype') {
      errors.push({
        path: header,
        message: 'must not be sent in binary mode: the Content-Type header is the datacontenttype',
      });
    } else if (name === 'data' || name === 'data_base64') {
      errors.push({ path: header, message: 'is not an attribute: in binary mode the data is the request body' });
    } else if (attributes.has(name) || (Array.isArray(rawValue) && rawValue.length !== 1)) {
      errors.push({ path: header, message: 'expects one value, got several' });
      attributes.set(name, UNREADABLE);
    } else {
      const value = percentDecoded(Array.isArray(rawValue) ? rawValue[0] : rawValue);
      if (value === undefined) {
        errors.push({ path: header, message: 'expects a percent-encoded UTF-8 value (CloudEvents HTTP binding)' });
      }
      attributes.set(name, value ?? UNREADABLE);
    }
  }
  if (contentType) attributes.set('datacontenttype', contentType);

  const data = bodyData(body);
  if (data === INVALID_JSON) errors.push({ path: 'body', message: 'expects the event data as a JSON object' });
  else if (data !== undefined && !contentType) {
    errors.push({ path: 'content-type', message: 'expects application/json: the body is the event data' });
  }
  const pathOf = (attribute: string) =>
    attribute === 'data' ? 'body' : attribute === 'datacontenttype' ? 'content-type' : `ce-${attribute}`;
  return mapEnvelope({ attributes, data: data === INVALID_JSON ? undefined : data, pathOf }, errors);
}

/** Whether a request is a binary-mode CloudEvent (structured and batch ones are told by their Content-Type). */
export function isBinaryCloudEvent(headers: HttpHeaders): boolean {
  return Object.entries(headers).some(
    ([name, value]) => value !== undefined && name.toLowerCase() === 'ce-specversion',
  );
}

/** The items of a batch body, each for fromStructured; a batch may be empty (JSON batch format). */
export function batchItems(body: unknown): { ok: true; items: unknown[] } | { ok: false; errors: CloudEventError[] } {
  if (!Array.isArray(body)) {
    return failure('body', `expects a JSON array of CloudEvents (${CLOUDEVENTS_BATCH_MEDIA_TYPE})`);
  }
  if (body.length > MAX_BATCH_EVENTS) {
    return failure('body', `expects at most ${MAX_BATCH_EVENTS} events in a batch, got ${body.length}`);
  }
  return { ok: true, items: body };
}

/** `ce:` + sha256 of [source, id]: the CloudEvents identity of an event is the pair, not the id alone. */
export function cloudEventIdempotencyKey(source: string, id: string): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([source, id]))
    .digest('hex');
  return `ce:${hash}`;
}

function mapEnvelope({ attributes, data, pathOf }: Envelope, errors: CloudEventError[]): CloudEventResult {
  const issue = (attribute: string, message: string) => void errors.push({ path: pathOf(attribute), message });
  const text = (attribute: string): string | undefined => {
    const value = attributes.get(attribute);
    if (value === undefined) {
      if (REQUIRED.includes(attribute)) issue(attribute, 'is required');
      return undefined;
    }
    if (value === UNREADABLE) return undefined;
    if (typeof value !== 'string') return void issue(attribute, 'expects a string');
    if (value === '') return void issue(attribute, 'expects a non-empty string');
    if (!isPlainText(value)) return void issue(attribute, 'must not contain control characters or unpaired surrogates');
    return value;
  };
  /** The value if `schema` accepts it; else an issue on `attribute` with the schema's first message. */
  const checked = (attribute: string, value: string | undefined, schema: z.ZodType<string>, what: string) => {
    if (value === undefined) return undefined;
    const result = schema.safeParse(value);
    if (result.success) return value;
    return void issue(attribute, `${what}: ${result.error.issues[0].message}`);
  };
  const timestamp = (attribute: string): string | undefined => {
    const value = text(attribute);
    if (value === undefined) return undefined;
    const iso = rfc3339(value);
    if (iso === undefined) issue(attribute, 'expects an RFC 3339 timestamp such as 2024-05-01T12:00:00Z');
    return iso;
  };

  const specversion = text('specversion');
  if (specversion !== undefined && specversion !== '1.0') {
    issue('specversion', `expects "1.0" (CloudEvents 1.0), got ${JSON.stringify(specversion)}`);
  }
  const id = text('id');
  const source = text('source');
  if (source !== undefined && !URI_REFERENCE.test(source)) {
    issue('source', 'expects a URI-reference (RFC 3986), such as /orders or https://shop.example.com/orders');
  }
  const type = checked('type', text('type'), eventTypeSchema, 'the Herald event type');

  const subject = checked('subject', text('subject'), recipientSchema.shape.subscriberId, 'the subscriber id');
  const topic = checked('heraldtopic', text('heraldtopic'), topicKeySchema, 'the topic key');
  if (!attributes.has('subject') && !attributes.has('heraldtopic')) {
    issue('subject', 'is required: the subscriber to notify (or send the heraldtopic extension with a topic key)');
  }

  const datacontenttype = text('datacontenttype');
  if (datacontenttype !== undefined && !isJsonMediaType(datacontenttype)) {
    issue(
      'datacontenttype',
      `expects application/json or a +json type (Herald takes JSON data), got ${datacontenttype}`,
    );
  }
  if (data !== undefined && !isJsonObject(data)) {
    issue(
      'data',
      `expects a JSON object (Herald event data is an object), got ${Array.isArray(data) ? 'an array' : typeof data}`,
    );
  }

  const occurredAt = timestamp('time');
  const sendAt = timestamp('heraldsendat');

  const dataschema = text('dataschema');
  let schemaVersion: number | undefined;
  if (dataschema !== undefined) {
    schemaVersion = URI_REFERENCE.test(dataschema) && URI_SCHEME.test(dataschema) ? versionOf(dataschema) : undefined;
    if (schemaVersion === undefined) {
      issue(
        'dataschema',
        'expects a URI ending in the schema version, such as https://example.com/schemas/order.shipped/2, …/v2 or urn:example:order.shipped:v3',
      );
    }
  }

  const traceparent = attributes.get('traceparent');
  const traceParent = typeof traceparent === 'string' && traceIdOf(traceparent) ? traceparent : undefined;
  const extensions = extensionsOf(attributes, issue);

  if (errors.length) return { ok: false, errors: errors.slice(0, MAX_ERRORS) };

  const recipients: Addressee[] = [
    ...(subject === undefined ? [] : [{ subscriberId: subject }]),
    ...(topic === undefined ? [] : [{ topic }]),
  ];
  const parsed = eventInputSchema.safeParse({
    type,
    to: recipients.length === 1 ? recipients[0] : recipients,
    data: data ?? {},
    ...(sendAt === undefined ? {} : { sendAt }),
  });
  // The checks above cover every field; this is the guarantee that the result is a valid EventInput.
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.slice(0, MAX_ERRORS).map((zodIssue) => ({
        path: pathOf(attributeOf(zodIssue.path)),
        message: zodIssue.message,
      })),
    };
  }

  const cloudEvent: CloudEventContext = {
    id: id!,
    source: source!,
    specversion: '1.0',
    ...(subject === undefined ? {} : { subject }),
    ...(dataschema === undefined ? {} : { dataschema }),
    ...(datacontenttype === undefined ? {} : { datacontenttype }),
    ...(Object.keys(extensions).length ? { extensions } : {}),
  };
  return {
    ok: true,
    value: {
      input: parsed.data,
      idempotencyKey: cloudEventIdempotencyKey(source!, id!),
      ...(occurredAt === undefined ? {} : { occurredAt }),
      ...(schemaVersion === undefined ? {} : { schemaVersion }),
      ...(traceParent === undefined ? {} : { traceParent }),
      cloudEvent,
    },
  };
}

/** The other extensions, kept as they came; a name or value outside the CloudEvents rules is an issue. */
function extensionsOf(
  attributes: Map<string, unknown>,
  issue: (attribute: string, message: string) => void,
): Record<string, CloudEventExtensionValue> {
  const extensions: Record<string, CloudEventExtensionValue> = {};
  for (const [name, value] of attributes) {
    if (SPEC_ATTRIBUTES.has(name) || HERALD_EXTENSIONS.has(name) || value === UNREADABLE) continue;
    if (!ATTRIBUTE_NAME.test(name)) {
      issue(name, 'is not a CloudEvents attribute name: lowercase letters a-z and digits 0-9, at most 50 characters');
    } else if (typeof value === 'string' ? !isPlainText(value) : !isExtensionScalar(value)) {
      issue(
        name,
        'expects a string without control characters or unpaired surrogates, a 32-bit integer or a boolean (CloudEvents type system)',
      );
    } else {
      extensions[name] = value as CloudEventExtensionValue;
    }
  }
  return extensions;
}

/** An attribute's text: no control characters, and nothing Postgres could not store (storable-text.ts). */
function isPlainText(value: string): boolean {
  return !CONTROL_CHARACTERS.test(value) && isStorableText(value);
}

/** The CloudEvents attribute an eventInputSchema issue is about (its fields are type, to, data, sendAt). */
function attributeOf(path: readonly PropertyKey[]): string {
  if (path[0] === 'to') return path.includes('topic') ? 'heraldtopic' : 'subject';
  if (path[0] === 'sendAt') return 'heraldsendat';
  return path[0] === 'type' ? 'type' : 'data';
}

function failure(path: string, message: string): { ok: false; errors: CloudEventError[] } {
  return { ok: false, errors: [{ path, message }] };
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isExtensionScalar(value: unknown): boolean {
  if (typeof value === 'boolean' || typeof value === 'string') return true;
  return typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31;
}

/** application/json, or a structured-syntax `+json` type (RFC 6839) such as application/vnd.shop+json. */
function isJsonMediaType(contentType: string): boolean {
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  return mediaType === 'application/json' || /^[a-z0-9!#$&^_.-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(mediaType);
}

function rfc3339(value: string): string | undefined {
  const upper = value.toUpperCase();
  if (!RFC3339.test(value) || !timestampSchema.safeParse(upper).success) return undefined;
  return new Date(upper).toISOString();
}

function versionOf(uri: string): number | undefined {
  const path = uri.replace(/[?#].*$/, '').replace(/\/+$/, '');
  const lastSegment = path.split(/[/:]/).pop() ?? '';
  const match = TRAILING_VERSION.exec(lastSegment);
  const version = match ? Number(match[1]) : NaN;
  return schemaVersionSchema.safeParse(version).success ? version : undefined;
}

/**
 * A `ce-*` header value as the HTTP binding decodes it: a double-quoted string unescaped, then one round of
 * percent-decoding; undefined when that is not valid UTF-8 (or a `%` is not followed by two hex digits).
 */
function percentDecoded(raw: string): string | undefined {
  let value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    value = value.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

const INVALID_JSON = Symbol('invalid JSON');

/** The event data of a binary-mode body: undefined when the body is empty. */
function bodyData(body: unknown): unknown {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'string' && !Buffer.isBuffer(body)) return body;
  const text = body.toString();
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return INVALID_JSON;
  }
}
