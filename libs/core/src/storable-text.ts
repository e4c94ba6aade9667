import type { z } from 'zod';

/**
 * Text Postgres cannot store: NUL (`\u0000`, refused in `text` and in `jsonb`) and an unpaired UTF-16
 * surrogate (`\ud800` alone: `jsonb` refuses its escape; `text` would silently store U+FFFD instead).
 * Such a value used to reach the database and fail the whole statement it was in: every request
 * sharing that group commit got a 500, whichever tenant sent it. It is refused at the door instead.
 */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE =
  'must not contain NUL (\\u0000) or an unpaired UTF-16 surrogate (\\ud800–\\udfff)';

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/**
 * Where a parsed JSON value (or a query, or route parameters) holds unstorable text, in a string or in
 * an object's key: at most `max` paths, walked without recursion (bodies may nest deep).
 */
export function unstorableTextPaths(value: unknown, max = 50): (string | number)[][] {
  const found: (string | number)[][] = [];
  const pending: [unknown, (string | number)[]][] = [[value, []]];
  while (pending.length && found.length < max) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      if (!isStorableText(item)) found.push(path);
    } else if (Array.isArray(item)) {
      for (let i = item.length - 1; i >= 0; i--) pending.push([item[i], [...path, i]]);
    } else if (item !== null && typeof item === 'object') {
      for (const [key, child] of Object.entries(item).reverse()) {
        if (!isStorableText(key)) found.push([...path, key]);
        else pending.push([child, [...path, key]]);
      }
    }
  }
  return found.slice(0, max);
}

/** A zod refinement naming each unstorable string of the value (for schemas checked item by item). */
export function refuseUnstorableText(value: unknown, ctx: z.RefinementCtx): void {
  for (const path of unstorableTextPaths(value)) {
    ctx.addIssue({ code: 'custom', path, message: UNSTORABLE_TEXT_MESSAGE });
  }
}
