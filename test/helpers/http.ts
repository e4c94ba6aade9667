/** A small fetch wrapper for tests: JSON in, JSON (or problem+json) out. */
export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export function client(baseUrl: string, key?: string) {
  return async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  };
}

export type Client = ReturnType<typeof client>;

/**
 * Polls until `check` returns a value (not undefined), or fails after `timeoutMs`; `what` may be a
 * function, read when it fails (to say what was seen last).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what: string | (() => string) = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const described = typeof what === 'function' ? what() : what;
  throw new Error(`timed out waiting for ${described}${last ? `: ${(last as Error).message}` : ''}`);
}
