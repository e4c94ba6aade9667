import { compileSchema, dataErrors } from './json-schema';

describe('compileSchema', () => {
  it('runs patterns in linear time: a pattern that backtracks exponentially in JavaScript answers at once', () => {
    // In JavaScript's engine this input takes ~2.6 s with 28 digits and doubles with each one: 10,000
    // digits would never finish, and the api's event loop with it.
    const compiled = compileSchema({
      type: 'object',
      properties: { code: { type: 'string', pattern: '^(\\w|\\d)+$' } },
      patternProperties: { '^(x+x+)+y$': { type: 'number' } },
    });
    if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
    const hostile = `${'1'.repeat(10_000)}!`;
    expect(dataErrors(compiled.validate, { code: hostile })).toEqual([
      { path: '/data/code', message: 'must match pattern "^(\\w|\\d)+$"' },
    ]);
    expect(dataErrors(compiled.validate, { code: '1'.repeat(10_000) })).toEqual([]);
    expect(dataErrors(compiled.validate, { ['x'.repeat(5_000)]: 'not a number' })).toEqual([]);
    expect(dataErrors(compiled.validate, { xxy: 'not a number' })).toEqual([
      { path: '/data/xxy', message: 'must be number' },
    ]);
  });

  it('refuses, naming the place, a pattern the linear-time engine cannot run', () => {
    const compiled = compileSchema({
      type: 'object',
      properties: {
        lookahead: { type: 'string', pattern: '^(?=.*\\d).+$' },
        backreference: { type: 'string', pattern: '^(a)\\1$' },
        fine: { type: 'string', pattern: '^[a-z]+$' },
      },
      patternProperties: { '(?<!x)y': {} },
    });
    expect(compiled.ok).toBe(false);
    if (compiled.ok) return;
    expect(compiled.errors.map((e) => e.path).sort()).toEqual([
      '/patternProperties/(?<!x)y',
      '/properties/backreference/pattern',
      '/properties/lookahead/pattern',
    ]);
    expect(compiled.errors[0].message).toMatch(/^expects a pattern without lookaround or backreferences/);
  });
});
