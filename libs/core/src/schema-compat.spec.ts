import fc from 'fast-check';
import { schemaIncompatibilities, type JsonSchema } from './schema-compat';

/** The (path, change) pairs found — messages are checked separately where they matter. */
function changes(previous: JsonSchema, next: JsonSchema): [string, string][] {
  return schemaIncompatibilities(previous, next).map(({ path, change }) => [path, change]);
}

const order: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['orderId', 'customer'],
  properties: {
    orderId: { type: 'string', minLength: 1 },
    total: { type: 'number', minimum: 0 },
    status: { enum: ['new', 'paid', 'shipped'] },
    customer: {
      type: 'object',
      required: ['email'],
      properties: { email: { type: 'string', format: 'email' }, name: { type: 'string' } },
    },
    items: {
      type: 'array',
      items: { type: 'object', properties: { sku: { type: 'string' }, quantity: { type: 'integer' } } },
    },
  },
};

/** `order` with `change` applied to a deep copy. */
function orderWith(change: (schema: any) => void): JsonSchema {
  const copy = structuredClone(order);
  change(copy);
  return copy;
}

describe('schemaIncompatibilities', () => {
  it('finds nothing between identical schemas, or when only annotations change', () => {
    expect(schemaIncompatibilities(order, structuredClone(order))).toEqual([]);
    const annotated = orderWith((s) => {
      s.title = 'Order';
      s.$id = 'https://herald.dev/order';
      s.$comment = 'v2';
      s.properties.total.description = 'in cents';
      s.properties.total.default = 0;
      s.properties.status.examples = ['new'];
    });
    expect(schemaIncompatibilities(order, annotated)).toEqual([]);
  });

  describe('properties', () => {
    it('reports a removed property, at any depth', () => {
      const next = orderWith((s) => {
        delete s.properties.total;
        delete s.properties.customer.properties.name;
        delete s.properties.items.items.properties.sku;
      });
      expect(schemaIncompatibilities(order, next)).toEqual([
        { path: '/customer/name', change: 'property-removed', message: 'property `name` was removed' },
        { path: '/items/*/sku', change: 'property-removed', message: 'property `sku` was removed' },
        { path: '/total', change: 'property-removed', message: 'property `total` was removed' },
      ]);
    });

    it('accepts a new optional property, even where additional properties were refused', () => {
      const next = orderWith((s) => {
        s.properties.note = { type: 'string', maxLength: 200 };
        s.properties.customer.additionalProperties = false;
        s.properties.customer.properties.phone = { type: 'string' };
      });
      const before = orderWith((s) => (s.properties.customer.additionalProperties = false));
      expect(changes(before, next)).toEqual([]);
    });

    it('holds a new property to the schema that typed additional properties before', () => {
      const before = { type: 'object', additionalProperties: { type: 'string' } };
      expect(changes(before, { ...before, properties: { a: { type: ['string', 'null'] } } })).toEqual([]);
      expect(changes(before, { ...before, properties: { a: { type: 'string', maxLength: 3 } } })).toEqual([
        ['/a', 'constraint-tightened'],
      ]);
    });

    it('escapes `~` and `/` in paths (RFC 6901)', () => {
      const before = { properties: { 'a/b': { properties: { 'm~n': {}, '~/': {} } } } };
      const next = { properties: { 'a/b': { properties: {} } } };
      expect(changes(before, next)).toEqual([
        ['/a~1b/m~0n', 'property-removed'],
        ['/a~1b/~0~1', 'property-removed'],
      ]);
    });
  });

  describe('type', () => {
    it('accepts widening, integer to number, and dropping the type', () => {
      const widened = orderWith((s) => {
        s.properties.orderId.type = ['string', 'null'];
        s.properties.items.items.properties.quantity.type = 'number';
        delete s.properties.total.type;
      });
      expect(changes(order, widened)).toEqual([]);
      expect(changes({ type: ['integer', 'string'] }, { type: ['string', 'number'] })).toEqual([]);
    });

    it('reports a narrowed or changed type', () => {
      const next = orderWith((s) => {
        s.properties.total.type = 'integer';
        s.properties.items.items.properties.sku.type = 'number';
      });
      expect(schemaIncompatibilities(order, next)).toEqual([
        {
          path: '/items/*/sku',
          change: 'type-changed',
          message: '`/items/*/sku` no longer accepts string (now number)',
        },
        { path: '/total', change: 'type-changed', message: '`/total` no longer accepts number (now integer)' },
      ]);
      expect(changes({ type: ['string', 'null'] }, { type: 'string' })).toEqual([['', 'type-changed']]);
    });

    it('treats a schema without a type as accepting every type', () => {
      expect(schemaIncompatibilities({}, { type: 'object' })).toEqual([
        { path: '', change: 'type-changed', message: 'the data is now restricted to object' },
      ]);
    });

    it('does not compare the object keywords of a schema that no longer accepts objects', () => {
      expect(
        changes(
          order,
          orderWith((s) => (s.properties.customer = { type: 'string' })),
        ),
      ).toEqual([['/customer', 'type-changed']]);
    });
  });

  describe('required', () => {
    it('reports a new required property and an optional one becoming required', () => {
      const next = orderWith((s) => {
        s.properties.channel = { type: 'string' };
        s.required.push('channel', 'total');
        s.properties.items.items.required = ['sku'];
      });
      expect(schemaIncompatibilities(order, next)).toEqual([
        { path: '/channel', change: 'required-added', message: 'property `channel` is now required' },
        { path: '/items/*/sku', change: 'required-added', message: 'property `sku` is now required' },
        { path: '/total', change: 'required-added', message: 'property `total` is now required' },
      ]);
    });

    it('accepts a required property becoming optional', () => {
      expect(
        changes(
          order,
          orderWith((s) => (s.properties.customer.required = [])),
        ),
      ).toEqual([]);
    });
  });

  describe('enum and const', () => {
    it('accepts added values and a dropped enum', () => {
      expect(
        changes(
          order,
          orderWith((s) => s.properties.status.enum.push('refunded')),
        ),
      ).toEqual([]);
      expect(
        changes(
          order,
          orderWith((s) => delete s.properties.status.enum),
        ),
      ).toEqual([]);
      expect(changes({ const: 'a' }, { enum: ['a', 'b'] })).toEqual([]);
      expect(changes({ enum: [{ a: 1, b: 2 }] }, { enum: [{ b: 2, a: 1 }] })).toEqual([]);
    });

    it('reports removed values and a new enum or const', () => {
      expect(
        schemaIncompatibilities(
          order,
          orderWith((s) => (s.properties.status.enum = ['new', 'paid'])),
        ),
      ).toEqual([{ path: '/status', change: 'enum-narrowed', message: '`/status` no longer accepts "shipped"' }]);
      expect(schemaIncompatibilities({ type: 'string' }, { type: 'string', const: 'x' })).toEqual([
        { path: '', change: 'enum-narrowed', message: 'the data is now restricted to "x"' },
      ]);
    });
  });

  describe('additionalProperties', () => {
    it('reports true or absent becoming false or a schema', () => {
      expect(changes({ type: 'object' }, { type: 'object', additionalProperties: false })).toEqual([
        ['', 'additional-properties-restricted'],
      ]);
      expect(
        changes(
          { properties: { meta: { additionalProperties: true } } },
          { properties: { meta: { additionalProperties: { type: 'string' } } } },
        ),
      ).toEqual([['/meta', 'additional-properties-restricted']]);
    });

    it('accepts loosening, and compares two schemas under `*`', () => {
      expect(changes({ additionalProperties: false }, { additionalProperties: { type: 'string' } })).toEqual([]);
      expect(changes({ additionalProperties: { type: 'string' } }, { additionalProperties: true })).toEqual([]);
      expect(changes({ additionalProperties: { type: 'string' } }, { additionalProperties: {} })).toEqual([]);
      expect(
        changes(
          { additionalProperties: { type: 'string' } },
          { additionalProperties: { type: 'string', pattern: 'x' } },
        ),
      ).toEqual([['/*', 'constraint-tightened']]);
    });
  });

  describe('constraints', () => {
    it('accepts loosened or removed constraints', () => {
      const loosened = orderWith((s) => {
        s.properties.orderId.minLength = 0;
        delete s.properties.total.minimum;
        delete s.properties.customer.properties.email.format;
      });
      expect(changes(order, loosened)).toEqual([]);
      expect(changes({ maxItems: 3, multipleOf: 10 }, { maxItems: 5, multipleOf: 5 })).toEqual([]);
    });

    it('reports raised minimums, lowered maximums, and added or changed pattern, format and multipleOf', () => {
      const next = orderWith((s) => {
        s.properties.orderId.minLength = 2;
        s.properties.orderId.maxLength = 64;
        s.properties.orderId.pattern = '^ord_';
        s.properties.total.exclusiveMinimum = 0;
        s.properties.total.multipleOf = 0.01;
        s.properties.customer.properties.email.format = 'idn-email';
        s.properties.items.minItems = 1;
        s.properties.items.uniqueItems = true;
        s.properties.customer.maxProperties = 2;
      });
      expect(schemaIncompatibilities(order, next)).toEqual([
        { path: '/customer', change: 'constraint-tightened', message: '`/customer` gained maxProperties 2' },
        {
          path: '/customer/email',
          change: 'constraint-tightened',
          message: '`/customer/email` format changed: idn-email',
        },
        { path: '/items', change: 'constraint-tightened', message: '`/items` gained minItems 1' },
        { path: '/items', change: 'constraint-tightened', message: '`/items` now requires unique items' },
        { path: '/orderId', change: 'constraint-tightened', message: '`/orderId` minLength raised from 1 to 2' },
        { path: '/orderId', change: 'constraint-tightened', message: '`/orderId` gained maxLength 64' },
        { path: '/orderId', change: 'constraint-tightened', message: '`/orderId` pattern added: ^ord_' },
        { path: '/total', change: 'constraint-tightened', message: '`/total` gained exclusiveMinimum 0' },
        { path: '/total', change: 'constraint-tightened', message: '`/total` must now be a multiple of 0.01' },
      ]);
      expect(changes({ maximum: 10 }, { maximum: 9 })).toEqual([['', 'constraint-tightened']]);
      expect(changes({ multipleOf: 5 }, { multipleOf: 10 })).toEqual([['', 'constraint-tightened']]);
    });

    it('ignores constraints on kinds of data a version does not accept', () => {
      // minLength never applied to numbers, so adding it to a number schema refuses nothing.
      expect(changes({ type: 'number' }, { type: 'number', minLength: 3 })).toEqual([]);
    });
  });

  describe('composites and unknown keywords', () => {
    it('reports any change, conservatively', () => {
      const before = { properties: { a: { oneOf: [{ type: 'string' }, { type: 'number' }] }, b: { $ref: '#/d/x' } } };
      const next = {
        properties: {
          a: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'null' }] },
          b: { $ref: '#/d/y' },
        },
        if: { required: ['a'] },
        then: { required: ['b'] },
      };
      expect(schemaIncompatibilities(before, next)).toEqual([
        {
          path: '',
          change: 'unsupported-change',
          message: '`if` of the data changed; Herald cannot prove that compatible',
        },
        {
          path: '',
          change: 'unsupported-change',
          message: '`then` of the data changed; Herald cannot prove that compatible',
        },
        {
          path: '/a',
          change: 'unsupported-change',
          message: '`oneOf` of `/a` changed; Herald cannot prove that compatible',
        },
        {
          path: '/b',
          change: 'unsupported-change',
          message: '`$ref` of `/b` changed; Herald cannot prove that compatible',
        },
      ]);
      expect(changes({ items: [{ type: 'string' }] }, { items: [{ type: 'string' }, {}] })).toEqual([
        ['', 'unsupported-change'],
      ]);
      expect(changes({ definitions: { x: { type: 'string' } } }, { definitions: { x: { type: 'number' } } })).toEqual([
        ['', 'unsupported-change'],
      ]);
    });

    it('accepts them unchanged', () => {
      const schema = { allOf: [{ required: ['a'] }], patternProperties: { '^x-': { type: 'string' } } };
      expect(changes(schema, { ...structuredClone(schema), title: 'renamed' })).toEqual([]);
    });
  });

  describe('boolean schemas', () => {
    it('treats true as accepting anything and false as accepting nothing', () => {
      expect(changes(true, {})).toEqual([]);
      expect(changes({}, true)).toEqual([]);
      expect(changes(false, { type: 'string' })).toEqual([]);
      expect(changes(true, { type: 'string' })).toEqual([['', 'type-changed']]);
      expect(changes({ properties: { a: { type: 'string' } } }, { properties: { a: false } })).toEqual([
        ['/a', 'type-changed'],
      ]);
      expect(changes({ items: { type: 'string' } }, { items: false })).toEqual([['/*', 'type-changed']]);
    });
  });

  describe('any flat object schema', () => {
    const name = fc.string({ minLength: 1, maxLength: 8 });
    const leaf: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
      fc.record(
        {
          type: fc.constantFrom('string', ['string', 'null']),
          minLength: fc.nat(5),
          maxLength: fc.integer({ min: 5, max: 50 }),
          pattern: fc.constantFrom('^a', '\\d+'),
          format: fc.constantFrom('email', 'uri', 'date-time'),
          enum: fc.uniqueArray(fc.string(), { minLength: 1, maxLength: 4 }),
        },
        { requiredKeys: [] },
      ),
      fc.record(
        {
          type: fc.constantFrom('number', 'integer', ['integer', 'null']),
          minimum: fc.integer(),
          exclusiveMaximum: fc.integer(),
          multipleOf: fc.integer({ min: 1, max: 10 }),
        },
        { requiredKeys: ['type'] },
      ),
      fc.record({ type: fc.constant('boolean'), const: fc.boolean() }, { requiredKeys: [] }),
    );
    const flatSchema = fc.dictionary(name, leaf, { maxKeys: 6 }).chain((properties) =>
      fc.record({
        type: fc.constant('object'),
        properties: fc.constant(properties),
        required: fc.subarray(Object.keys(properties)),
        additionalProperties: fc.boolean(),
      }),
    );

    it('is compatible with itself, and with itself plus one optional property', () => {
      fc.assert(
        fc.property(flatSchema, name, leaf, (schema, added, addedSchema) => {
          fc.pre(!Object.hasOwn(schema.properties, added));
          const extended = { ...schema, properties: { ...schema.properties, [added]: addedSchema } };
          return (
            schemaIncompatibilities(schema, structuredClone(schema)).length === 0 &&
            schemaIncompatibilities(schema, extended).length === 0
          );
        }),
      );
    });

    it('reports a removed property as removed', () => {
      fc.assert(
        fc.property(flatSchema, (schema) => {
          const [removed] = Object.keys(schema.properties);
          fc.pre(removed !== undefined);
          const { [removed]: _gone, ...rest } = schema.properties;
          const next = { ...schema, properties: rest };
          const path = `/${removed.replace(/~/g, '~0').replace(/\//g, '~1')}`;
          return schemaIncompatibilities(schema, next).some((i) => i.path === path && i.change === 'property-removed');
        }),
      );
    });
  });
});
