import { Controller, Delete, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  CLOUDEVENTS_BATCH_MEDIA_TYPE,
  CLOUDEVENTS_MEDIA_TYPE,
  batchInputSchema,
  eventInputSchema,
  eventTypeSchema,
  idempotencyKeySchema,
  type EventInput,
} from '@herald/core';
import { Auth, CurrentPrincipal, TenantId } from '../auth/auth.decorator';
import type { Principal } from '../auth/principal';
import { ApiInput } from '../docs/api-input.decorator';
import { Returns } from '../docs/api-output.decorator';
import { fieldErrors } from '../http/parse';
import { Problem } from '../http/problem';
import { ValidBody, ValidHeader, ValidQuery } from '../http/valid-input';
import { TextCheckedPerEvent } from '../http/unstorable-text';
import { CloudEventsIngest, isCloudEventRequest } from './cloud-events.ingest';
import { CancelEventUseCase } from './cancel-event.usecase';
import { batchAnswerSchema, eventAcceptedSchema, eventPageSchema, eventViewSchema } from './events.contract';
import { EventsQuery } from './events.query';
import { JSON_TERMS, callerTraceParent, eventMeta, acceptedAnswer, batchAnswer, senderKey } from './ingest-answers';
import { IngestUseCase } from './ingest.usecase';

const listQuery = z.object({
  type: eventTypeSchema.optional(),
  status: z.enum(['accepted', 'routed', 'unrouted', 'cancelled']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  subscriberId: z.string().min(1).max(255).optional(),
  correlationId: z.string().min(1).max(128).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly ingest: IngestUseCase,
    private readonly events: EventsQuery,
    private readonly cloudEvents: CloudEventsIngest,
    private readonly cancelEvent: CancelEventUseCase,
  ) {}

  /**
   * One event: Herald's JSON, or a CloudEvent (structured, binary, or a batch, which answers 207 like
   * POST /v1/events/batch).
   */
  @Post()
  @Auth('ingest')
  @HttpCode(202)
  @TextCheckedPerEvent()
  @Returns({ 202: eventAcceptedSchema, 207: batchAnswerSchema })
  // Documented only: these two are read leniently (a bad one is replaced, not refused).
  @ApiInput({
    headers: z.object({
      'X-Correlation-Id': z
        .string()
        .optional()
        .describe('Stored with the event, logged through to delivery and sent on webhooks; generated when absent'),
      traceparent: z
        .string()
        .optional()
        .describe('W3C trace context: its trace id is the correlation id when X-Correlation-Id is absent'),
    }),
  })
  async send(
    @TenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @ValidBody(eventInputSchema, {
      otherBodies: {
        [CLOUDEVENTS_MEDIA_TYPE]: 'a CloudEvent 1.0, structured mode',
        [CLOUDEVENTS_BATCH_MEDIA_TYPE]: 'an array of CloudEvents',
      },
      unless: isCloudEventRequest,
    })
    input: EventInput,
    // A CloudEvent's own id is its key (cloud-events.ingest.ts); the header is still checked when sent.
    @ValidHeader('Idempotency-Key', idempotencyKeySchema.optional()) idempotencyKey: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    if (isCloudEventRequest(request)) return this.cloudEvents.send(tenantId, principal, request, reply);
    const meta = eventMeta(request, senderKey(principal));
    const [outcome] = await this.ingest.ingest([{ tenantId, input, idempotencyKey, meta }], callerTraceParent(request));
    return acceptedAnswer(outcome!, JSON_TERMS, reply);
  }

  /** 207: each event stands alone; results come back in input order with an HTTP-like status each. */
  @Post('batch')
  @Auth('ingest')
  @HttpCode(207)
  @TextCheckedPerEvent()
  @Returns(batchAnswerSchema)
  async sendBatch(
    @TenantId() tenantId: string,
    @CurrentPrincipal() principal: Principal,
    @ValidBody(batchInputSchema) { events }: z.infer<typeof batchInputSchema>,
    @Req() request: FastifyRequest,
  ) {
    const meta = eventMeta(request, senderKey(principal));
    const entries = events.map(({ idempotencyKey, ...event }, index) => {
      const parsed = eventInputSchema.safeParse(event);
      return parsed.success
        ? { tenantId, input: parsed.data, idempotencyKey, meta }
        : Problem.badRequest(`events[${index}] is not valid`, fieldErrors(parsed.error, `events[${index}]`));
    });
    return batchAnswer(this.ingest, entries, JSON_TERMS, request);
  }

  @Get()
  @Auth('ingest')
  @Returns(eventPageSchema)
  async list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    return this.events.list(tenantId, {
      ...input,
      since: input.since ? new Date(input.since) : undefined,
      until: input.until ? new Date(input.until) : undefined,
    });
  }

  @Get(':id')
  @Auth('ingest')
  @Returns(eventViewSchema)
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.events.get(tenantId, id);
  }

  /** Cancels a scheduled (or not yet fanned-out) event: 200 with the event, `cancelled`; 409 once it is routed. */
  @Delete(':id')
  @Auth('ingest')
  @Returns(eventViewSchema)
  async cancel(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.cancelEvent.cancel(tenantId, id);
  }
}
