import { z } from 'zod';
import { buildOpenApiDocument, type Route } from './openapi-document';

const route = (output: Route['output'], status = 200): Route => ({
  method: 'get',
  path: '/v1/things/:id',
  status,
  input: {},
  output,
  handler: 'ThingsController.get',
});

const success = (r: Route) => buildOpenApiDocument([r]).paths['/v1/things/{id}']!.get!.responses;

describe('response schemas in the OpenAPI document', () => {
  it("puts a route's schema under its status, as JSON, with dates as ISO strings", () => {
    const responses = success(route({ 0: z.object({ id: z.string(), at: z.date(), note: z.string().optional() }) }));
    expect(responses['200']!.content).toEqual({
      'application/json': {
        schema: {
          type: 'object',
          properties: { id: { type: 'string' }, at: { type: 'string', format: 'date-time' }, note: { type: 'string' } },
          required: ['id', 'at'],
          additionalProperties: false,
        },
      },
    });
  });

  it('puts each status of a by-status declaration under its own', () => {
    const responses = success(route({ 202: z.object({ a: z.string() }), 207: z.object({ b: z.string() }) }, 202));
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['202', '207']));
    expect(responses['207']!.content!['application/json']!.schema).toMatchObject({ required: ['b'] });
  });

  it('moves named schemas to components and refers to them there', () => {
    const Thing = z.object({ id: z.string() }).meta({ id: 'SpecThing' });
    const document = buildOpenApiDocument([route({ 0: z.object({ items: z.array(Thing) }) })]);
    const schema = document.paths['/v1/things/{id}']!.get!.responses['200']!.content!['application/json']!.schema!;
    expect(schema).toMatchObject({ properties: { items: { items: { $ref: '#/components/schemas/SpecThing' } } } });
    expect(document.components.schemas!.SpecThing).toMatchObject({ required: ['id'] });
  });

  it('refuses two different schemas of one name, and what JSON cannot carry', () => {
    const a = z.object({ a: z.string() }).meta({ id: 'SpecTwice' });
    const b = z.object({ b: z.string() }).meta({ id: 'SpecTwice' });
    expect(() => buildOpenApiDocument([route({ 0: a }), { ...route({ 0: b }), path: '/v1/other' }])).toThrow(
      'Two different response schemas are named SpecTwice',
    );
    expect(() => success(route({ 0: z.object({ n: z.bigint() }) }))).toThrow('JSON cannot carry');
  });

  it('leaves a route without a declared schema as it was: a status and its description', () => {
    expect(success(route({}))['200']).toEqual({ description: 'OK' });
  });
});
