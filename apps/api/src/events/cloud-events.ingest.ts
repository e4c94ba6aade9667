import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  batchItems,
  fromBinary,
  fromStructured,
  isBinaryCloudEvent,
  type CloudEventResult,
} from '@herald/core';
import { adoptCorrelationId } from '@herald/observability';
import type { Principal } from '../auth/principal';
import { Problem } from '../http/problem';
import {
  callerTraceParent,
  eventMeta,
  acceptedAnswer,
  batchAnswer,
  senderKey,
  type SenderTerms,
} from './ingest-answers';
import { IngestUseCase, type IngestItem } from './ingest.usecase';

const CLOUD_EVENT_TERMS: SenderTerms = { key: 'CloudEvent id and source', schemaVersion: 'dataschema' };

/** A CloudEvent arrives as one of the CloudEvents media types, or with `ce-*` headers (binary mode). */
export function isCloudEventRequest(request: FastifyRequest): boolean {
  const type = mediaType(request);
  return (
    type === CLOUDEVENTS_MEDIA_TYPE || type === CLOUDEVENTS_BATCH_MEDIA_TYPE || isBinaryCloudEvent(request.headers)
  );
}

/**
 * `POST /v1/events` for CloudEvents 1.0: each event is mapped (libs/core cloud-events.ts says how)
 * and then goes through the same ingest as Herald's own JSON. One event answers like a JSON event
 * (202, or the problem); a batch answers 207 with one result per event, as POST /v1/events/batch.
 */
@Injectable()
export class CloudEventsIngest {
  constructor(private readonly ingest: IngestUseCase) {}

  async send(tenantId: string, principal: Principal, request: FastifyRequest, reply: FastifyReply) {
    const sender = senderKey(principal);
    const itemOf = (parsed: Extract<CloudEventResult, { ok: true }>['value']): IngestItem => ({
      tenantId,
      input: { ...parsed.input, occurredAt: parsed.occurredAt, schemaVersion: parsed.schemaVersion },
      idempotencyKey: parsed.idempotencyKey,
      meta: eventMeta(request, sender, { attributes: { ...parsed.cloudEvent }, traceParent: parsed.traceParent }),
    });

    if (mediaType(request) === CLOUDEVENTS_BATCH_MEDIA_TYPE) {
      const batch = batchItems(request.body);
      if (!batch.ok) throw Problem.badRequest('The body is not a CloudEvents batch', batch.errors);
      const entries = batch.items.map((body, index) => {
        const parsed = fromStructured(body);
        return parsed.ok ? itemOf(parsed.value) : invalid(parsed.errors, `[${index}]`);
      });
      reply.status(207);
      return batchAnswer(this.ingest, entries, CLOUD_EVENT_TERMS, request);
    }

    const parsed =
      mediaType(request) === CLOUDEVENTS_MEDIA_TYPE
        ? fromStructured(request.body)
        : fromBinary(request.headers, request.body, request.headers['content-type']);
    if (!parsed.ok) throw invalid(parsed.errors);
    const item = itemOf(parsed.value);
    adoptCorrelationId(request.raw, item.meta.correlationId);
    const [outcome] = await this.ingest.ingest([item], callerTraceParent(request));
    return acceptedAnswer(outcome!, CLOUD_EVENT_TERMS, reply);
  }
}

function invalid(errors: { path: string; message: string }[], prefix = ''): Problem {
  const named = errors.map((e) => ({ ...e, path: prefix ? `${prefix}.${e.path}` : e.path }));
  return Problem.badRequest(
    `The CloudEvent${prefix ? ` ${prefix}` : ''} is not valid: ${named.map((e) => e.path).join(', ')}`,
    named,
  );
}

function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}
