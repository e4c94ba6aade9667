/**
 * RFC 6901 JSON Pointers: `""` is the whole document, `/a/0/b` walks object members and array
 * indexes, `~1` stands for `/` and `~0` for `~` inside a reference token.
 */

/** `""`, or `/`-prefixed tokens in which every `~` is followed by `0` or `1`. */
const POINTER = /^(\/([^~/]|~[01])*)*$/;
/** An array index: `0` or digits without a leading zero (`-`, "past the end", never resolves). */
const ARRAY_INDEX = /^(0|[1-9]\d*)$/;

/** `path` extended by one member name, escaped: `~` → `~0` first, then `/` → `~1` (or `/` would turn into `~01`). */
export function childPointer(path: string, token: string): string {
  return `${path}/${token.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function isJsonPointer(pointer: string): boolean {
  return POINTER.test(pointer);
}

/** The unescaped reference tokens of a pointer (`/a~1b/~0` → `['a/b', '~']`). */
export function pointerTokens(pointer: string): string[] {
  if (!isJsonPointer(pointer)) throw new Error(`not a JSON Pointer: ${JSON.stringify(pointer)}`);
  if (pointer === '') return [];
  // ~1 first, then ~0, so "~01" becomes "~1" and not "/" (RFC 6901 §4).
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * The value `pointer` refers to inside a parsed JSON document, or undefined when nothing is there.
 * Only own members count, so `/constructor` or `/__proto__` never reach into prototypes.
 */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let current = document;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      current = current[Number(token)];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}
