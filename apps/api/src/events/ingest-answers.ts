import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { correlationOf } from '@herald/observability';
import { traceIdOf } from '@herald/core';
import type { Principal } from '../auth/principal';
import { Problem } from '../http/problem';
import { toProblem } from '../http/problem.filter';
import type { batchResultSchema } from './events.contract';
import type { EventMeta, IngestItem, IngestOutcome, IngestUseCase } from './ingest.usecase';

/** How the sender named what an answer is about: its idempotency key, and where the schema version went. */
export interface SenderTerms {
  /** e.g. 'Idempotency-Key', 'webhook-id', 'CloudEvent id and source' */
  key: string;
  /** e.g. 'schemaVersion', 'dataschema' */
  schemaVersion: string;
}

export const JSON_TERMS: SenderTerms = { key: 'Idempotency-Key', schemaVersion: 'schemaVersion' };

/** The problem an ingest outcome answers with, or undefined when the event was accepted (or replayed). */
function outcomeProblem(outcome: IngestOutcome, terms: SenderTerms, request: FastifyRequest): Problem | undefined {
  switch (outcome.kind) {
    case 'failed':
      return toProblem(outcome.error, request);
    case 'accepted':
    case 'replayed':
      return undefined;
    case 'key-reused':
      return Problem.unprocessable(
        'idempotency-key-reused',
        `This ${terms.key} was first used with a different body (event ${outcome.id}); use a new one for a new event`,
      );
    case 'in-flight':
      return new Problem(
        409,
        'idempotency-key-in-flight',
        'Request in progress',
        `A request with this ${terms.key} is still being processed`,
        undefined,
        { headers: { 'retry-after': '1' } },
      );
    case 'data-invalid':
      return new Problem(
        422,
        'data-invalid',
        'Data does not match the schema',
        `data does not match version ${outcome.version} of this event type's schema; nothing was stored`,
        outcome.errors,
        { extensions: { schemaVersion: outcome.version } },
      );
    case 'schema-unknown':
      return Problem.unprocessable(
        'schema-version-unknown',
        `This event type has no schema version ${outcome.version}`,
        [{ path: terms.schemaVersion, message: `version ${outcome.version} is not published` }],
      );
  }
}

/**
 * What an event records about its request: the correlation id (an event's own CloudEvents
 * `traceparent` counts when the request named none) and who sent it. A malformed X-Correlation-Id is a
 * 400 for Herald's own clients; an inbound hook's sender (`lenient`) gets a generated id instead, so an
 * optional tracing header never costs it an event.
 */
export function eventMeta(
  request: FastifyRequest,
  sender: EventMeta['sender'],
  cloudEvent?: { attributes: Record<string, unknown>; traceParent?: string },
  lenient = false,
): EventMeta {
  const correlation = correlationOf(request.raw);
  if (correlation.refused && !lenient) {
    throw Problem.badRequest('The X-Correlation-Id header is not valid', [
      { path: 'X-Correlation-Id header', message: correlation.refused },
    ]);
  }
  const ownTrace = correlation.source === 'generated' && cloudEvent?.traceParent && traceIdOf(cloudEvent.traceParent);
  return {
    correlationId: ownTrace || correlation.id,
    sender,
    ...(cloudEvent && { cloudEvent: cloudEvent.attributes }),
  };
}

/** The tenant key behind an ingest route's caller (the AuthGuard lets only tenant keys through). */
export function senderKey(principal: Principal): { keyId: string } {
  if (principal.kind !== 'key') throw new Error(`ingest called by a ${principal.kind} principal`);
  return { keyId: principal.keyId };
}

/** One event's entry in a 207 answer: its id and an HTTP-like status, or the problem it met. */
function outcomeResult(outcome: IngestOutcome, terms: SenderTerms, request: FastifyRequest): BatchResult {
  const problem = outcomeProblem(outcome, terms, request);
  if (problem) return problemResult(problem);
  if (outcome.kind === 'replayed') return { id: outcome.id, status: 202, replayed: true };
  const { id, warnings } = outcome as Extract<IngestOutcome, { kind: 'accepted' }>;
  return warnings ? { id, status: 202, warnings } : { id, status: 202 };
}

function problemResult(problem: Problem): BatchResult {
  // body() is the problem+json document (type, title, …), typed loosely for its extensions.
  const { status, ...error } = problem.body() as { status: number } & Extract<BatchResult, { error: unknown }>['error'];
  return { status, error };
}

type BatchResult = z.output<typeof batchResultSchema>;

/** The caller's W3C traceparent header: the ingest span continues the caller's trace. */
export function callerTraceParent(request: FastifyRequest): string | undefined {
  const header = request.headers.traceparent;
  return typeof header === 'string' ? header : undefined;
}

/**
 * A one-event answer: 202 `{ id, status, warnings? }` (with Idempotent-Replayed on a replay), or the
 * problem thrown. `warnings` (`{ path, message }[]`) tell what the event was taken despite.
 */
export function acceptedAnswer(outcome: IngestOutcome, terms: SenderTerms, reply: FastifyReply) {
  if (outcome.kind === 'failed') throw outcome.error;
  const problem = outcomeProblem(outcome, terms, reply.request);
  if (problem) throw problem;
  if (outcome.kind === 'replayed') {
    reply.header('idempotent-replayed', 'true');
    return { id: outcome.id, status: 'accepted' };
  }
  const { id, warnings } = outcome as Extract<IngestOutcome, { kind: 'accepted' }>;
  return warnings ? { id, status: 'accepted', warnings } : { id, status: 'accepted' };
}

/**
 * A 207 batch: each entry is an event to ingest or the problem it already met; the events go in as one
 * ingest, and the results come back in input order.
 */
export async function batchAnswer(
  ingest: IngestUseCase,
  entries: (IngestItem | Problem)[],
  terms: SenderTerms,
  request: FastifyRequest,
): Promise<{ results: BatchResult[] }> {
  const items = entries.filter((entry): entry is IngestItem => !(entry instanceof Problem));
  const outcomes = await ingest.ingest(items, callerTraceParent(request));
  let next = 0; // outcomes are in the order of items: the entries' order without the problems
  const results = entries.map((entry) =>
    entry instanceof Problem ? problemResult(entry) : outcomeResult(outcomes[next++]!, terms, request),
  );
  return { results };
}
