/**
 * The console's one way to the API: fetch on this origin with the admin key the operator pasted,
 * kept in sessionStorage (gone when the tab closes). Errors come back as the API's problem+json.
 */
const KEY_ITEM = 'herald.adminKey';
/** Sent on window when the API refuses the key (401), so the app can ask for another. */
export const UNAUTHORIZED_EVENT = 'herald:unauthorized';

export interface FieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details, as Herald answers every error. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  requestId?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
  }
}

export const adminKey = {
  get: (): string | null => sessionStorage.getItem(KEY_ITEM),
  set: (key: string): void => sessionStorage.setItem(KEY_ITEM, key.trim()),
  clear: (): void => sessionStorage.removeItem(KEY_ITEM),
};

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${adminKey.get() ?? ''}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError({ type: 'network', title: 'Herald did not answer', status: 0, detail: (err as Error).message });
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = parseJson(text);
  if (response.ok) return parsed as T;
  if (response.status === 401) window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
  const problem = parsed && typeof parsed === 'object' && 'title' in parsed ? (parsed as Problem) : undefined;
  throw new ApiError(
    problem ?? { type: 'http', title: `HTTP ${response.status}`, status: response.status, detail: text.slice(0, 300) },
  );
}

/** `?a=1&b=2` from the given values, leaving out empty ones. */
export function query(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** A path segment: event types may hold `/`, subscriber ids anything. */
export const segment = (value: string): string => encodeURIComponent(value);

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}
