import { randomUUID } from 'node:crypto';
import { HeraldProblemError } from './problem-error';
import { RETRY_DEFAULTS, backoffMs, retryDelayMs, type RetryOptions } from './retry-policy';

export interface HeraldFetchOptions extends RetryOptions {
  /** Where Herald's api is, e.g. `http://localhost:3000`. */
  baseUrl: string;
  /** A tenant key (`hk_…`), the root key or an inbox token: sent as `Authorization: Bearer …` unless a request sets its own. */
  apiKey?: string;
  fetch?: (request: Request) => Promise<Response>;
  /**
   * How the client waits between attempts (tests record the delays instead of waiting). Given the request's
   * signal: the default wait ends, rejecting with the signal's reason, when the caller aborts.
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The clock `Retry-After` dates are read against. */
  now?: () => number;
}

/** Repeating these cannot do more than doing them once (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
/** Connection errors that mean the request never reached the server, so even a POST may be sent again. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
/** CloudEvents in structured mode, one or a batch (binary mode is told by its `ce-id` header). */
const CLOUDEVENTS = /^application\/cloudevents(-batch)?\+json\s*(;|$)/i;

/** setTimeout that an abort ends early, rejecting with the abort's reason (an AbortError or a TimeoutError). */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    signal.addEventListener('abort', abort, { once: true });
  });
}

/**
 * The fetch every request of the client goes through:
 * - adds the key, and an `Idempotency-Key` (a random UUID) to `POST /v1/events` and to each event of
 *   `POST /v1/events/batch` that has none, once, so every retry carries the same key (a CloudEvent needs
 *   none: Herald keys it by its `id` and `source`);
 * - retries 429 (refused before any work), 409 `idempotency-key-in-flight` (the first attempt is still
 *   being processed), and 5xx answers and network errors — the last two only for requests that are safe to
 *   repeat (an idempotent method or an idempotency key), since a POST that failed half-way might otherwise
 *   create twice; waits as `Retry-After` says or with jittered exponential backoff;
 * - does not retry an answer whose `Retry-After` asks for longer than `maxDelayMs` (an early retry would only be
 *   refused again), nor once the request's signal has fired: an abort ends any wait at once;
 * - throws a HeraldProblemError for any answer that is not 2xx once retrying is over.
 */
export function heraldFetch(options: HeraldFetchOptions): (request: Request) => Promise<Response> {
  const retry: Required<RetryOptions> = {
    retries: options.retries ?? RETRY_DEFAULTS.retries,
    baseDelayMs: options.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
  };
  const send = options.fetch ?? ((request: Request) => fetch(request));
  const sleep = options.sleep ?? wait;
  const clock = { now: options.now ?? Date.now, random: Math.random };
  const basePath = new URL(options.baseUrl).pathname.replace(/\/+$/, '');

  return async (original) => {
    const { request, repeatable } = await prepare(original, basePath, options.apiKey);
    const { signal } = request;
    const pause = async (ms: number) => {
      await sleep(ms, signal);
      // A custom sleep may not listen to the signal.
      signal.throwIfAborted();
    };
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retry.retries;
      let response: Response;
      try {
        response = await send(request.clone());
      } catch (error) {
        // The caller's abort (or timeout) is not a network error: it must not be retried.
        const aborted = signal.aborted || (error as Error | undefined)?.name === 'AbortError';
        if (last || aborted || !(repeatable || NOT_SENT.has(causeCode(error)))) throw error;
        await pause(backoffMs(attempt, retry, clock));
        continue;
      }
      if (response.ok) return response;
      const problem = await HeraldProblemError.fromResponse(response);
      const delay =
        last || signal.aborted || !retryable(problem, repeatable)
          ? undefined
          : retryDelayMs(attempt, response.headers.get('retry-after'), retry, clock);
      if (delay === undefined) throw problem;
      await pause(delay);
    }
  };
}

function retryable(problem: HeraldProblemError, repeatable: boolean): boolean {
  if (problem.status === 429) return true;
  if (problem.status === 409) return problem.type.endsWith('idempotency-key-in-flight');
  return problem.status >= 500 && repeatable;
}

/** The request as it is sent on every attempt (key and idempotency keys included), and whether repeating it is safe. */
async function prepare(
  original: Request,
  basePath: string,
  apiKey: string | undefined,
): Promise<{ request: Request; repeatable: boolean }> {
  let request = original;
  if (apiKey !== undefined && !request.headers.has('authorization')) {
    request.headers.set('authorization', `Bearer ${apiKey}`);
  }
  const path = new URL(request.url).pathname.slice(basePath.length);
  const send = request.method === 'POST' && path === '/v1/events';
  // A CloudEvent's idempotency key is its id and source (Herald ignores the header for them).
  const cloudEvent =
    send && (CLOUDEVENTS.test(request.headers.get('content-type') ?? '') || request.headers.has('ce-id'));
  if (send && !cloudEvent && !request.headers.has('idempotency-key')) {
    request.headers.set('idempotency-key', randomUUID());
  }
  let keyedBatch = false;
  if (request.method === 'POST' && path === '/v1/events/batch') {
    const body = (await request
      .clone()
      .json()
      .catch(() => undefined)) as { events?: unknown } | undefined;
    if (Array.isArray(body?.events) && body.events.every((event) => typeof event === 'object' && event !== null)) {
      const events = (body.events as Record<string, unknown>[]).map((event) => ({
        ...event,
        idempotencyKey: event.idempotencyKey ?? randomUUID(),
      }));
      request = new Request(request, { body: JSON.stringify({ ...body, events }) });
      keyedBatch = true;
    }
  }
  const repeatable =
    IDEMPOTENT_METHODS.has(request.method) || request.headers.has('idempotency-key') || cloudEvent || keyedBatch;
  return { request, repeatable };
}

/** undici reports connection errors as `TypeError('fetch failed')` with the system error as its cause. */
function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : '';
}
