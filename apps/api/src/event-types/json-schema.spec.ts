import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { compileSchema } from './json-schema';

describe('compileSchema', () => {
  it('runs patterns in linear time: a pattern that backtracks exponentially in JavaScript answers at once', () => {
    // In JavaScript's engine this input takes ~2.6 s with 28 digits and doubles with each one: 10,000
    // digits would never finish, and the api's event loop with it. So it runs in a process of its own,
    // whose 20 s deadline turns a backtracking engine into a failure here instead of a hung test run.
    const script = `
      const { compileSchema, dataErrors } = require('./apps/api/src/event-types/json-schema');
      const compiled = compileSchema({
        type: 'object',
        properties: { code: { type: 'string', pattern: '^(\\\\w|\\\\d)+$' } },
        patternProperties: { '^(x+x+)+y$': { type: 'number' } },
      });
      if (!compiled.ok) throw new Error(JSON.stringify(compiled.errors));
      console.log(JSON.stringify([
        dataErrors(compiled.validate, { code: '1'.repeat(10000) + '!' }),
        dataErrors(compiled.validate, { code: '1'.repeat(10000) }),
        dataErrors(compiled.validate, { ['x'.repeat(5000)]: 'not a number' }),
        dataErrors(compiled.validate, { xxy: 'not a number' }),
      ]));`;
    const run = spawnSync(process.execPath, ['-r', './bench/register.js', '-e', script], {
      cwd: path.join(__dirname, '..', '..', '..', '..'),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ timedOut: run.error?.message, stderr: run.stderr }).toEqual({ timedOut: undefined, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual([
      [{ path: '/data/code', message: 'must match pattern "^(\\w|\\d)+$"' }],
      [],
      [],
      [{ path: '/data/xxy', message: 'must be number' }],
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
