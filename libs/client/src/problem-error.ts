import type { components } from './openapi';

/** Herald's error body (RFC 9457 problem details), as the OpenAPI document describes it. */
export type Problem = components['schemas']['Problem'];
export type FieldError = NonNullable<Problem['errors']>[number];

/**
 * A request Herald answered with an error (after any retries): every non-2xx answer. The fields are
 * those of the problem+json body; an answer that is not problem+json (a proxy's 502 page, say) gets
 * `type: 'about:blank'` and the status text as its title, as RFC 9457 says.
 */
export class HeraldProblemError extends Error {
  override readonly name = 'HeraldProblemError';
  readonly status: number;
  /** e.g. `/problems/validation`; compare with `endsWith()`, the prefix may change. */
  readonly type: string;
  readonly title: string;
  readonly detail?: string;
  /** One entry per field that is not valid (`path` like `to[0].email`); empty when there are none. */
  readonly errors: FieldError[];
  /** Herald's X-Request-Id for the request: quote it when reading the logs. */
  readonly requestId?: string;
  /** The answer's headers (e.g. `retry-after`). */
  readonly headers: Headers;

  constructor(problem: Problem, headers: Headers = new Headers()) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
    this.status = problem.status;
    this.type = problem.type;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.requestId = problem.requestId ?? headers.get('x-request-id') ?? undefined;
    this.headers = headers;
  }

  /** Reads the body of an error answer (consuming it). */
  static async fromResponse(response: Response): Promise<HeraldProblemError> {
    const text = await response.text().catch(() => '');
    const parsed = /json/i.test(response.headers.get('content-type') ?? '') ? parseJson(text) : undefined;
    const problem: Problem = isProblem(parsed)
      ? parsed
      : {
          type: 'about:blank',
          title: response.statusText || `HTTP ${response.status}`,
          status: response.status,
          ...(text && { detail: text.slice(0, 500) }),
        };
    return new HeraldProblemError({ ...problem, status: response.status }, response.headers);
  }
}

function isProblem(value: unknown): value is Problem {
  const candidate = value as Partial<Problem> | undefined;
  return typeof candidate?.type === 'string' && typeof candidate.title === 'string';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
