import { isJsonPointer, pointerTokens, resolvePointer } from './json-pointer';

describe('JSON Pointer (RFC 6901)', () => {
  // The example document of RFC 6901 §5.
  const rfc = {
    foo: ['bar', 'baz'],
    '': 0,
    'a/b': 1,
    'c%d': 2,
    'e^f': 3,
    'g|h': 4,
    'i\\j': 5,
    'k"l': 6,
    ' ': 7,
    'm~n': 8,
  };

  it.each([
    ['', rfc],
    ['/foo', ['bar', 'baz']],
    ['/foo/0', 'bar'],
    ['/', 0],
    ['/a~1b', 1],
    ['/c%d', 2],
    ['/e^f', 3],
    ['/g|h', 4],
    ['/i\\j', 5],
    ['/k"l', 6],
    ['/ ', 7],
    ['/m~0n', 8],
  ])('resolves the RFC examples: %j', (pointer, expected) => {
    expect(resolvePointer(rfc, pointer)).toEqual(expected);
  });

  it('walks nested objects and arrays', () => {
    const body = { user: { id: 'u1', tags: [{ name: 'vip' }] }, n: 0, f: false, z: null };
    expect(resolvePointer(body, '/user/id')).toBe('u1');
    expect(resolvePointer(body, '/user/tags/0/name')).toBe('vip');
    expect(resolvePointer(body, '/n')).toBe(0);
    expect(resolvePointer(body, '/f')).toBe(false);
    expect(resolvePointer(body, '/z')).toBeNull();
  });

  it('answers undefined when nothing is there', () => {
    const body = { user: { id: 'u1' }, list: ['a', 'b'], s: 'text' };
    expect(resolvePointer(body, '/user/mail')).toBeUndefined();
    expect(resolvePointer(body, '/missing/deeper')).toBeUndefined();
    expect(resolvePointer(body, '/list/2')).toBeUndefined();
    expect(resolvePointer(body, '/list/-')).toBeUndefined();
    expect(resolvePointer(body, '/list/01')).toBeUndefined();
    expect(resolvePointer(body, '/list/x')).toBeUndefined();
    expect(resolvePointer(body, '/s/0')).toBeUndefined();
    expect(resolvePointer(undefined, '/a')).toBeUndefined();
    expect(resolvePointer(null, '/a')).toBeUndefined();
  });

  it('never reaches into prototypes', () => {
    expect(resolvePointer({}, '/constructor')).toBeUndefined();
    expect(resolvePointer({}, '/__proto__')).toBeUndefined();
    expect(resolvePointer([], '/length')).toBeUndefined();
    expect(resolvePointer(JSON.parse('{"__proto__":{"x":1}}'), '/__proto__/x')).toBe(1);
  });

  it('unescapes ~1 before ~0', () => {
    expect(pointerTokens('/~01')).toEqual(['~1']);
    expect(pointerTokens('/a~1b/~0/')).toEqual(['a/b', '~', '']);
    expect(pointerTokens('')).toEqual([]);
  });

  it('tells pointers from other strings', () => {
    for (const ok of ['', '/', '/a', '/a/b', '/~0', '/~1', '//', '/a~0~1b']) expect(isJsonPointer(ok)).toBe(true);
    for (const bad of ['a', 'a/b', '#/a', '/~', '/~2', '/a~']) expect(isJsonPointer(bad)).toBe(false);
    expect(() => resolvePointer({}, 'a')).toThrow(/not a JSON Pointer/);
    // one way to match each input: a long almost-pointer is refused at once, not by backtracking
    expect(isJsonPointer('/'.repeat(100_000) + '~')).toBe(false);
  });
});
