export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemOptions {
  /** response headers that go with it (Retry-After, say) */
  headers?: Record<string, string>;
  /** extension members (RFC 9457 §3.2) a client can act on, e.g. the version data was checked against */
  extensions?: Record<string, unknown>;
}

/**
 * An error answered as RFC 9457 problem+json. `slug` becomes the problem `type`
 * (`/problems/<slug>`), so clients can match on it.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    options: ProblemOptions = {},
  ) {
    super(detail ?? title);
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  /** The problem+json document. */
  body(requestId?: string): Record<string, unknown> {
    return {
      type: `/problems/${this.slug}`,
      title: this.title,
      status: this.status,
      detail: this.detail,
      ...(this.errors ? { errors: this.errors } : {}),
      ...this.extensions,
      ...(requestId ? { requestId } : {}),
    };
  }

  static badRequest(detail: string, errors?: FieldError[]): Problem {
    return new Problem(400, 'validation', 'Request is not valid', detail, errors);
  }

  static notFound(what: string): Problem {
    return new Problem(404, 'not-found', 'Not found', `${what} was not found`);
  }

  static unprocessable(slug: string, detail: string, errors?: FieldError[]): Problem {
    return new Problem(422, slug, 'Request cannot be processed', detail, errors);
  }
}
