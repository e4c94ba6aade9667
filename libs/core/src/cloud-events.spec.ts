import { createHash } from 'node:crypto';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  batchItems,
  fromBinary,
  fromStructured,
  isBinaryCloudEvent,
  type CloudEventResult,
} from './cloud-events';
import { MAX_BATCH_EVENTS } from './event-input';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency';

// Messages are built with the `cloudevents` SDK (which we did not write) and passed through what HTTP and
// a JSON body parser would do to them, so the mapping is tested against what real senders put on the wire.

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const shipped = (attributes: Record<string, unknown> = {}, strict = true) =>
  new CloudEvent(
    {
      id: 'evt-42',
      source: 'https://shop.example.com/orders',
      type: 'order.shipped',
      subject: 'alice',
      time: '2024-05-01T12:00:00Z',
      data: { orderId: '42' },
      ...attributes,
    },
    strict,
  );

/** The body of a structured message, as the JSON body parser hands it over. */
function structuredBody(event: CloudEvent<unknown>): Record<string, unknown> {
  const message = HTTP.structured(event);
  expect(String(message.headers['content-type']).startsWith(CLOUDEVENTS_MEDIA_TYPE)).toBe(true);
  return JSON.parse(message.body as string) as Record<string, unknown>;
}

/** A structured event mapped, after `change` edits its JSON (the sender got an attribute wrong). */
function structured(event: CloudEvent<unknown>, change: (body: Record<string, unknown>) => void = () => {}) {
  const body = structuredBody(event);
  change(body);
  return fromStructured(body);
}

/**
 * A binary message's headers as HTTP delivers them: strings, each `ce-*` value percent-encoded (the SDK
 * does not; encodeURIComponent encodes more than the binding asks, which a receiver must accept).
 */
function onTheWire(message: Message): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) {
    headers[name] = name.startsWith('ce-') ? encodeURIComponent(String(value)) : String(value);
  }
  return headers;
}

/** A binary event mapped, after `edit` changes its headers; the JSON body is parsed, as Fastify would. */
function binary(event: CloudEvent<unknown>, edit: (headers: Record<string, string>) => void = () => {}) {
  const message = HTTP.binary(event);
  const headers = onTheWire(message);
  edit(headers);
  const body = typeof message.body === 'string' ? (JSON.parse(message.body) as unknown) : undefined;
  return fromBinary(headers, body, headers['content-type']);
}

function ok(result: CloudEventResult) {
  if (!result.ok) throw new Error(`expected a valid CloudEvent, got ${JSON.stringify(result.errors)}`);
  return result.value;
}

function errorPaths(result: CloudEventResult): string[] {
  if (result.ok) throw new Error('expected errors, got a valid CloudEvent');
  return result.errors.map((e) => e.path);
}

function expectedKey(source: string, id: string): string {
  return `ce:${createHash('sha256')
    .update(JSON.stringify([source, id]))
    .digest('hex')}`;
}

describe('CloudEvents → Herald event', () => {
  describe('structured mode', () => {
    it('maps an SDK-built event to a Herald event and keeps its context', () => {
      const value = ok(structured(shipped({ traceparent: TRACEPARENT, tenantregion: 'eu', priority: 5, vip: true })));
      expect(value.input).toEqual({ type: 'order.shipped', to: { subscriberId: 'alice' }, data: { orderId: '42' } });
      expect(value.idempotencyKey).toBe(expectedKey('https://shop.example.com/orders', 'evt-42'));
      expect(value.idempotencyKey).toMatch(IDEMPOTENCY_KEY_PATTERN);
      expect(value.occurredAt).toBe('2024-05-01T12:00:00.000Z');
      expect(value.traceParent).toBe(TRACEPARENT);
      expect(value.schemaVersion).toBeUndefined();
      expect(value.cloudEvent).toEqual({
        id: 'evt-42',
        source: 'https://shop.example.com/orders',
        specversion: '1.0',
        subject: 'alice',
        extensions: { tenantregion: 'eu', priority: 5, vip: true },
      });
    });

    it('takes absent or null data as {} and JSON content types with parameters or +json', () => {
      expect(ok(structured(shipped({ data: undefined }))).input.data).toEqual({});
      expect(ok(structured(shipped(), (body) => (body.data = null))).input.data).toEqual({});
      const typed = ok(structured(shipped({ datacontenttype: 'application/vnd.shop.order+json; charset=utf-8' })));
      expect(typed.cloudEvent.datacontenttype).toBe('application/vnd.shop.order+json; charset=utf-8');
      expect(ok(structured(shipped({ datacontenttype: 'application/json' }))).input.data).toEqual({ orderId: '42' });
    });

    it('treats null optional attributes as absent (JSON event format)', () => {
      const value = ok(structured(shipped({ heraldtopic: 'beta' }), (body) => Object.assign(body, { subject: null })));
      expect(value.input.to).toEqual({ topic: 'beta' });
      expect(value.cloudEvent.subject).toBeUndefined();
    });

    it('normalizes time to UTC and reads heraldsendat as sendAt', () => {
      const value = ok(
        structured(shipped({ heraldsendat: '2030-01-02T09:30:00+01:00' }), (body) => {
          body.time = '2024-05-01t14:00:00.5+02:00';
        }),
      );
      expect(value.occurredAt).toBe('2024-05-01T12:00:00.500Z');
      expect(value.input.sendAt).toBe('2030-01-02T08:30:00.000Z');
      expect(value.cloudEvent.extensions).toBeUndefined();
    });
  });

  describe('recipients', () => {
    it('subject → one subscriber, heraldtopic → a topic, both → both', () => {
      expect(ok(structured(shipped())).input.to).toEqual({ subscriberId: 'alice' });
      expect(ok(structured(shipped({ subject: undefined, heraldtopic: 'beta-users' }))).input.to).toEqual({
        topic: 'beta-users',
      });
      expect(ok(structured(shipped({ heraldtopic: 'beta-users' }))).input.to).toEqual([
        { subscriberId: 'alice' },
        { topic: 'beta-users' },
      ]);
    });

    it('names subject when there is no recipient', () => {
      const result = structured(shipped({ subject: undefined }));
      expect(errorPaths(result)).toEqual(['subject']);
      expect(!result.ok && result.errors[0].message).toMatch(/heraldtopic/);
    });

    it('names the attribute of a bad subscriber id or topic key', () => {
      expect(errorPaths(structured(shipped({ heraldtopic: 'no spaces' })))).toEqual(['heraldtopic']);
      expect(errorPaths(structured(shipped({ subject: 'x'.repeat(256) })))).toEqual(['subject']);
      expect(errorPaths(structured(shipped(), (body) => (body.heraldtopic = 7)))).toEqual(['heraldtopic']);
    });
  });

  describe('idempotency key', () => {
    const keyOf = (attributes: Record<string, unknown>) => ok(structured(shipped(attributes))).idempotencyKey;

    it('is the same for a redelivery of the same id and source, whatever else changed', () => {
      expect(keyOf({ time: '2024-06-01T00:00:00Z', data: { orderId: '43' } })).toBe(keyOf({}));
      expect(ok(binary(shipped())).idempotencyKey).toBe(keyOf({}));
    });

    it('differs when the id or the source differs, even if their concatenation is the same', () => {
      const keys = new Set([
        keyOf({}),
        keyOf({ id: 'evt-43' }),
        keyOf({ source: 'https://shop.example.com/returns' }),
        keyOf({ source: '/a', id: 'b/c' }),
        keyOf({ source: '/a/b', id: 'c' }),
      ]);
      expect(keys.size).toBe(5);
    });
  });

  describe('dataschema', () => {
    const versionOf = (dataschema: string) => ok(structured(shipped({ dataschema }))).schemaVersion;

    it('takes the number ending the URI’s last segment as the schema version', () => {
      expect(versionOf('https://shop.example.com/schemas/order.shipped/2')).toBe(2);
      expect(versionOf('https://shop.example.com/schemas/order.shipped/v12')).toBe(12);
      expect(versionOf('https://shop.example.com/schemas/order.shipped/v3/')).toBe(3);
      expect(versionOf('https://shop.example.com/schemas/order-shipped-v4.json?download=1#top')).toBe(4);
      expect(versionOf('urn:shop:schemas:order.shipped:v3')).toBe(3);
      expect(ok(structured(shipped({ dataschema: 'urn:shop:order.shipped:v3' }))).cloudEvent.dataschema).toBe(
        'urn:shop:order.shipped:v3',
      );
    });

    it('names dataschema when there is no version number to read', () => {
      for (const dataschema of [
        'https://shop.example.com/schemas/order.shipped',
        'https://shop.example.com/schemas/order.shipped/v1.2',
        'https://shop.example.com/schemas/v0',
        '/schemas/order.shipped/2',
      ]) {
        expect(errorPaths(structured(shipped(), (body) => (body.dataschema = dataschema)))).toEqual(['dataschema']);
      }
    });
  });

  describe('invalid attributes, each named', () => {
    const cases: [string, (body: Record<string, unknown>) => void][] = [
      ['specversion', (body) => (body.specversion = '0.3')],
      ['specversion', (body) => delete body.specversion],
      ['id', (body) => delete body.id],
      ['id', (body) => (body.id = '')],
      ['source', (body) => delete body.source],
      ['source', (body) => (body.source = 'not a uri reference')],
      ['type', (body) => delete body.type],
      ['type', (body) => (body.type = 'order shipped')],
      ['type', (body) => (body.type = 42)],
      ['subject', (body) => (body.subject = 'ali\nce')],
      ['time', (body) => (body.time = 'yesterday')],
      ['time', (body) => (body.time = '2024-02-30T10:00:00Z')],
      ['time', (body) => (body.time = '2024-05-01T12:00Z')],
      ['data', (body) => (body.data = ['a'])],
      ['data', (body) => (body.data = 'text')],
      ['data_base64', (body) => (body.data_base64 = Buffer.from('hi').toString('base64'))],
      ['datacontenttype', (body) => (body.datacontenttype = 'text/plain')],
      ['heraldsendat', (body) => (body.heraldsendat = 'tomorrow')],
      ['Region', (body) => (body.Region = 'eu')],
      ['tenant_region', (body) => (body.tenant_region = 'eu')],
      ['a'.repeat(51), (body) => (body['a'.repeat(51)] = 'x')],
      ['nested', (body) => (body.nested = { a: 1 })],
      ['ratio', (body) => (body.ratio = 0.5)],
    ];

    it.each(cases)('%s', (attribute, change) => {
      const result = structured(shipped(), change);
      expect(errorPaths(result)).toEqual([attribute]);
      expect(!result.ok && result.errors[0].message).toBeTruthy();
    });

    it('reports every bad attribute at once', () => {
      const result = structured(shipped(), (body) => Object.assign(body, { type: '', time: 'x', data: [] }));
      expect(errorPaths(result)).toEqual(['type', 'data', 'time']);
    });

    it('accepts extension names up to 50 characters, and ignores a traceparent W3C would ignore', () => {
      const long = 'a'.repeat(50);
      const value = ok(structured(shipped(), (body) => Object.assign(body, { [long]: 'x', traceparent: 'nope' })));
      expect(value.cloudEvent.extensions).toEqual({ [long]: 'x' });
      expect(value.traceParent).toBeUndefined();
    });

    it('refuses a body that is not an event object', () => {
      expect(errorPaths(fromStructured([]))).toEqual(['body']);
      expect(errorPaths(fromStructured('{}'))).toEqual(['body']);
      expect(errorPaths(fromStructured(null))).toEqual(['body']);
    });
  });

  describe('binary mode', () => {
    it('maps the ce-* headers and the JSON body like the structured event', () => {
      const event = shipped({ traceparent: TRACEPARENT, heraldtopic: 'beta', tenantregion: 'eu' });
      const value = ok(binary(event));
      const fromJson = ok(structured(event));
      expect(value.input).toEqual(fromJson.input);
      expect(value.idempotencyKey).toBe(fromJson.idempotencyKey);
      expect(value.occurredAt).toBe('2024-05-01T12:00:00.000Z');
      expect(value.traceParent).toBe(TRACEPARENT);
      expect(value.cloudEvent).toEqual({
        id: 'evt-42',
        source: 'https://shop.example.com/orders',
        specversion: '1.0',
        subject: 'alice',
        datacontenttype: 'application/json; charset=utf-8',
        extensions: { tenantregion: 'eu' },
      });
    });

    it('percent-decodes header values, and unescapes double-quoted ones', () => {
      const value = ok(
        binary(shipped({ subject: 'zoë müller', note: 'Euro € 😀' }), (headers) => {
          headers['ce-note'] = 'Euro%20%E2%82%AC%20%f0%9f%98%80';
          headers['ce-region'] = '"eu \\"west\\""';
        }),
      );
      expect(value.input.to).toEqual({ subscriberId: 'zoë müller' });
      expect(value.cloudEvent.extensions).toEqual({ note: 'Euro € 😀', region: 'eu "west"' });
    });

    it('reads header names in any case, and integer extensions as strings', () => {
      const value = ok(
        binary(shipped({ priority: 5 }), (headers) => {
          headers['CE-Subject'] = headers['ce-subject'];
          delete headers['ce-subject'];
        }),
      );
      expect(value.input.to).toEqual({ subscriberId: 'alice' });
      expect(value.cloudEvent.extensions).toEqual({ priority: '5' });
    });

    it('takes dataschema and heraldsendat from headers', () => {
      const value = ok(
        binary(
          shipped({
            dataschema: 'https://shop.example.com/schemas/order.shipped/v2',
            heraldsendat: '2030-01-01T00:00:00Z',
          }),
        ),
      );
      expect(value.schemaVersion).toBe(2);
      expect(value.input.sendAt).toBe('2030-01-01T00:00:00.000Z');
    });

    it('takes an empty body as {} and a raw JSON text body as the data', () => {
      const headers = onTheWire(HTTP.binary(shipped({ data: undefined })));
      expect(ok(fromBinary(headers, undefined, undefined)).input.data).toEqual({});
      expect(ok(fromBinary(headers, Buffer.from('{"orderId":"42"}'), 'application/json')).input.data).toEqual({
        orderId: '42',
      });
    });

    const cases: [string, (headers: Record<string, string>) => void][] = [
      ['ce-specversion', (h) => (h['ce-specversion'] = '0.3')],
      ['ce-id', (h) => delete h['ce-id']],
      ['ce-source', (h) => (h['ce-source'] = 'not%20a%20uri')],
      ['ce-type', (h) => (h['ce-type'] = 'order%20shipped')],
      ['ce-subject', (h) => (h['ce-subject'] = '%C0%A0')],
      ['ce-subject', (h) => (h['ce-subject'] = '100%')],
      ['ce-time', (h) => (h['ce-time'] = 'yesterday')],
      ['ce-dataschema', (h) => (h['ce-dataschema'] = 'https%3A%2F%2Fshop.example.com%2Fschemas%2Flatest')],
      ['ce-heraldtopic', (h) => (h['ce-heraldtopic'] = 'no%20spaces')],
      ['ce-heraldsendat', (h) => (h['ce-heraldsendat'] = 'soon')],
      ['ce-datacontenttype', (h) => (h['ce-datacontenttype'] = 'application/json')],
      ['ce-data', (h) => (h['ce-data'] = '{}')],
      ['ce-tenant-region', (h) => (h['ce-tenant-region'] = 'eu')],
      ['content-type', (h) => (h['content-type'] = 'text/plain')],
    ];

    it.each(cases)('names %s', (header, edit) => {
      expect(errorPaths(binary(shipped(), edit))).toEqual([header]);
    });

    it('names the body when it is not a JSON object, and content-type when a body comes without one', () => {
      const headers = onTheWire(HTTP.binary(shipped()));
      expect(errorPaths(fromBinary(headers, ['a'], 'application/json'))).toEqual(['body']);
      expect(errorPaths(fromBinary(headers, 'not json', 'application/json'))).toEqual(['body']);
      expect(errorPaths(fromBinary(headers, { orderId: '42' }, undefined))).toEqual(['content-type']);
    });

    it('refuses a header sent twice', () => {
      const headers = onTheWire(HTTP.binary(shipped()));
      expect(errorPaths(fromBinary({ ...headers, 'ce-id': ['a', 'b'] }, {}, 'application/json'))).toEqual(['ce-id']);
    });

    it('is told apart by ce-specversion', () => {
      expect(isBinaryCloudEvent(onTheWire(HTTP.binary(shipped())))).toBe(true);
      expect(isBinaryCloudEvent({ 'CE-SpecVersion': '1.0' })).toBe(true);
      expect(isBinaryCloudEvent(onTheWire(HTTP.structured(shipped())))).toBe(false);
      expect(isBinaryCloudEvent({ 'content-type': 'application/json', 'ce-specversion': undefined })).toBe(false);
    });
  });

  describe('batches', () => {
    // The SDK has no batch serializer: a batch is the JSON array of its events (toJSON), which its own
    // HTTP.toEvent reads back as a batch.
    const events = [
      shipped(),
      shipped({ id: 'evt-43', subject: 'bob' }),
      shipped({ id: 'evt-44', type: 'bad type' }, false),
    ];
    const message = {
      headers: { 'content-type': `${CLOUDEVENTS_BATCH_MEDIA_TYPE}; charset=utf-8` },
      body: JSON.stringify(events),
    };

    it('maps each item on its own', () => {
      expect(HTTP.toEvent({ headers: message.headers, body: JSON.stringify(events.slice(0, 2)) })).toHaveLength(2);
      const batch = batchItems(JSON.parse(message.body));
      if (!batch.ok) throw new Error('expected a batch');
      const results = batch.items.map(fromStructured);
      expect(results.map((r) => r.ok)).toEqual([true, true, false]);
      expect(ok(results[1]).input.to).toEqual({ subscriberId: 'bob' });
      expect(ok(results[0]).idempotencyKey).not.toBe(ok(results[1]).idempotencyKey);
      expect(errorPaths(results[2])).toEqual(['type']);
    });

    it('accepts an empty batch, refuses a non-array or more than MAX_BATCH_EVENTS items', () => {
      expect(batchItems([])).toEqual({ ok: true, items: [] });
      expect(batchItems({ events: [] })).toMatchObject({ ok: false, errors: [{ path: 'body' }] });
      expect(batchItems(new Array(MAX_BATCH_EVENTS + 1).fill({}))).toMatchObject({ ok: false });
      expect(batchItems(new Array(MAX_BATCH_EVENTS).fill({})).ok).toBe(true);
    });
  });
});
