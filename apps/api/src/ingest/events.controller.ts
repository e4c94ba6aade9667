import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { batchInputSchema, eventInputSchema, eventTypeSchema, idempotencyKeySchema } from '@herald/core';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { fieldErrors, parse } from '../http/parse';
import { Problem } from '../http/problem';
import { EventsQuery } from './events.query';
import { IngestUseCase, type IngestOutcome } from './ingest.usecase';

const keyReused = (id: string) =>
  Problem.unprocessable(
    'idempotency-key-reused',
    `This Idempotency-Key was first used with a different body (event ${id}); use a new key for a new event`,
  );
const inFlight = () =>
  new Problem(
    409,
    'idempotency-key-in-flight',
    'Request in progress',
    'A request with this Idempotency-Key is still being processed',
    undefined,
    {
      'retry-after': '1',
    },
  );

const listQuery = z.object({
  type: eventTypeSchema.optional(),
  status: z.enum(['accepted', 'routed', 'unrouted', 'cancelled']).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

@Controller('v1/events')
export class EventsController {
  constructor(
    @Inject(IngestUseCase) private readonly ingest: IngestUseCase,
    @Inject(EventsQuery) private readonly events: EventsQuery,
  ) {}

  @Post()
  @Auth('ingest')
  @HttpCode(202)
  @ApiInput({ body: eventInputSchema, headers: z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() }) })
  async send(
    @TenantId() tenantId: string,
    @Body() body: unknown,
    @Headers('idempotency-key') rawKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const idempotencyKey =
      rawKey === undefined ? undefined : parse(idempotencyKeySchema, rawKey, 'Idempotency-Key header');
    const input = parse(eventInputSchema, body);
    const [outcome] = await this.ingest.ingest([{ tenantId, input, idempotencyKey }]);
    if (outcome.kind === 'in-flight') throw inFlight();
    if (outcome.kind === 'key-reused') throw keyReused(outcome.id);
    if (outcome.kind === 'replayed') reply.header('idempotent-replayed', 'true');
    return { id: outcome.id, status: 'accepted' };
  }

  /** 207: each event stands alone; results come back in input order with an HTTP-like status each. */
  @Post('batch')
  @Auth('ingest')
  @HttpCode(207)
  @ApiInput({ body: batchInputSchema })
  async sendBatch(@TenantId() tenantId: string, @Body() body: unknown) {
    const { events } = parse(batchInputSchema, body);
    const results: object[] = new Array(events.length);
    const valid: { index: number; item: Parameters<IngestUseCase['ingest']>[0][number] }[] = [];
    events.forEach(({ idempotencyKey, ...event }, index) => {
      const parsed = eventInputSchema.safeParse(event);
      if (parsed.success) valid.push({ index, item: { tenantId, input: parsed.data, idempotencyKey } });
      else
        results[index] = problemResult(
          Problem.badRequest(`events[${index}] is not valid`, fieldErrors(parsed.error, `events[${index}]`)),
        );
    });
    const outcomes = await this.ingest.ingest(valid.map((v) => v.item));
    valid.forEach(({ index }, j) => (results[index] = outcomeResult(outcomes[j])));
    return { results };
  }

  @Get()
  @Auth('ingest')
  @ApiInput({ query: listQuery })
  async list(@TenantId() tenantId: string, @Query() query: unknown) {
    const input = parse(listQuery, query, 'query');
    return this.events.list(tenantId, { ...input, since: input.since ? new Date(input.since) : undefined });
  }

  @Get(':id')
  @Auth('ingest')
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.events.get(tenantId, id);
  }

  /** Cancels a scheduled (or not yet fanned-out) event: 200 with the event, `cancelled`; 409 once it is routed. */
  @Delete(':id')
  @Auth('ingest')
  async cancel(@TenantId() tenantId: string, @Param('id') id: string) {
    return this.events.cancel(tenantId, id);
  }
}

function outcomeResult(outcome: IngestOutcome): object {
  switch (outcome.kind) {
    case 'accepted':
      return { id: outcome.id, status: 202 };
    case 'replayed':
      return { id: outcome.id, status: 202, replayed: true };
    case 'key-reused':
      return problemResult(keyReused(outcome.id));
    case 'in-flight':
      return problemResult(inFlight());
  }
}

function problemResult(problem: Problem): object {
  const { status, ...error } = problem.body();
  return { status, error };
}
