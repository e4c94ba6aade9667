import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { traceIdOf } from '@herald/core';

/** The header a caller names its correlation id in; Herald answers with it on every response. */
export const CORRELATION_HEADER = 'x-correlation-id';
/** Printable ASCII without spaces, at most 128 characters: safe in a header, a log line and a webhook. */
export const CORRELATION_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

export interface Correlation {
  id: string;
  /** where the id came from */
  source: 'header' | 'traceparent' | 'generated';
  /** why the caller's X-Correlation-Id was refused (the id is then a generated one) */
  refused?: string;
}

const RESOLVED = Symbol('herald.correlation');

/**
 * The correlation id of a request: the caller's X-Correlation-Id, else the trace id of its W3C
 * `traceparent`, else a new one. Worked out once per request, so the request's log line, the
 * response header and the events it stores all carry the same id.
 */
export function correlationOf(request: IncomingMessage): Correlation {
  const memo = request as IncomingMessage & { [RESOLVED]?: Correlation };
  return (memo[RESOLVED] ??= resolve(request.headers));
}

function resolve(headers: IncomingMessage['headers']): Correlation {
  const given = headers[CORRELATION_HEADER];
  if (given !== undefined) {
    if (typeof given === 'string' && CORRELATION_ID_PATTERN.test(given)) return { id: given, source: 'header' };
    return {
      id: newCorrelationId(),
      source: 'generated',
      refused: 'expects 1–128 printable ASCII characters without spaces',
    };
  }
  const traceId = typeof headers.traceparent === 'string' ? traceIdOf(headers.traceparent) : undefined;
  return traceId ? { id: traceId, source: 'traceparent' } : { id: newCorrelationId(), source: 'generated' };
}

/**
 * Makes `id` the request's correlation id: a single CloudEvent whose own `traceparent` names the
 * event's id, when the request named none. The response header and the request's log line then agree
 * with what the event stores.
 */
export function adoptCorrelationId(request: IncomingMessage, id: string): void {
  (request as IncomingMessage & { [RESOLVED]?: Correlation })[RESOLVED] = { id, source: 'traceparent' };
}

/**
 * Shaped like a W3C trace id (32 hex digits), so ids from both sources look alike in logs. From
 * randomUUID, which draws from a cached entropy pool: randomBytes asks the kernel every time, which
 * was 8 % of the api's CPU under ingest load.
 */
export function newCorrelationId(): string {
  return randomUUID().replaceAll('-', '');
}
