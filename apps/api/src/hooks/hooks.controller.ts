import { Body, Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { verifyWebhook, type WebhookVerification } from '@herald/channels';
import {
  UNSTORABLE_TEXT_MESSAGE,
  eventInputSchema,
  idempotencyKeySchema,
  resolvePointer,
  type EventInput,
} from '@herald/core';
import { SourcesRepository } from '@herald/db';
import { parse } from '../http/parse';
import { Problem, type FieldError } from '../http/problem';
import { TextCheckedPerEvent } from '../http/unstorable-text';
import { acceptedAnswer, callerTraceParent, eventMeta, type SenderTerms } from '../events/ingest-answers';
import { IngestUseCase } from '../events/ingest.usecase';
import { sourceMappingSchema, type SourceMapping } from '../sources/sources.controller';
import { Returns } from '../docs/api-output.decorator';
import { eventAcceptedSchema } from '../events/events.contract';

type RawRequest = FastifyRequest & { rawBody?: Buffer };
type Rejection = Extract<WebhookVerification, { valid: false }>['reason'];

const REASONS: Record<Rejection, string> = {
  missing_headers: 'the webhook-id, webhook-timestamp and webhook-signature headers are required',
  invalid_timestamp: 'webhook-timestamp is not a Unix time in seconds',
  stale: 'webhook-timestamp is more than 5 minutes in the past',
  future: 'webhook-timestamp is more than 5 minutes in the future',
  no_match: "no v1 signature in webhook-signature matches the body signed with the source's secret",
};

/** A 401 whose `reason` member names the check that failed (RFC 9457 extension member). */
class SignatureRejected extends Problem {
  constructor(reason: Rejection) {
    super(401, 'webhook-signature-invalid', 'Webhook signature not valid', `${reason}: ${REASONS[reason]}`, undefined, {
      extensions: { reason },
    });
  }
}

const HOOK_TERMS: SenderTerms = { key: 'webhook-id', schemaVersion: 'schemaVersion' };

const RECIPIENT_FIELDS = ['subscriberId', 'email', 'phone', 'locale', 'timezone'] as const;

/**
 * Inbound webhooks: another system posts its own JSON, signed per Standard Webhooks with a source's
 * secret. No Herald key (no @Auth): the signature authenticates, and a request that fails it changes
 * nothing. The body is mapped to an event and goes through the same ingest as POST /v1/events, with
 * the webhook-id as its idempotency key, so the sender's retries never make a second event.
 */
@Controller('v1/hooks')
export class HooksController {
  constructor(
    private readonly sources: SourcesRepository,
    private readonly ingest: IngestUseCase,
  ) {}

  @Post(':sourceId')
  @HttpCode(202)
  @TextCheckedPerEvent()
  @Returns(eventAcceptedSchema)
  async receive(
    @Param('sourceId') sourceId: string,
    @Req() request: RawRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const source = await this.sources.forInboundPost(sourceId);
    if (!source) throw Problem.notFound(`Source ${sourceId}`);

    const verification = verifyWebhook(request.headers, request.rawBody ?? '', source.secret);
    if (!verification.valid) throw new SignatureRejected(verification.reason);

    // Prefixed with the source, so it can collide neither with REST keys nor with another source's ids.
    const idempotencyKey = parse(
      idempotencyKeySchema,
      `hook:${source.id}:${firstHeader(request, 'webhook-id')}`,
      'webhook-id header',
    );
    const input = toEventInput(source.eventType, sourceMappingSchema.parse(source.mapping), body);
    const meta = eventMeta(request, { sourceId: source.id }, undefined, true);
    const [outcome] = await this.ingest.ingest(
      [{ tenantId: source.tenantId, input, idempotencyKey, meta }],
      callerTraceParent(request),
    );
    return acceptedAnswer(outcome!, HOOK_TERMS, reply);
  }
}

/**
 * The event a body stands for: each recipient field and the data read at its pointer, then checked
 * by the schema POST /v1/events uses. Absent (or null) optional fields are left out; a numeric
 * subscriber id is taken as its decimal string. Anything unusable is a 422 naming the pointer.
 */
function toEventInput(type: string, mapping: SourceMapping, body: unknown): EventInput {
  const to: Record<string, unknown> = {};
  for (const field of RECIPIENT_FIELDS) {
    const pointer = mapping[field];
    if (pointer === undefined) continue;
    const value = resolvePointer(body, pointer);
    if (value === undefined || value === null) continue;
    to[field] = field === 'subscriberId' && typeof value === 'number' ? String(value) : value;
  }
  if (to.subscriberId === undefined || to.subscriberId === '') {
    throw Problem.unprocessable(
      'hook-mapping',
      `The body has no subscriber id at ${JSON.stringify(mapping.subscriberId)} (the source's mapping.subscriberId)`,
      [{ path: mapping.subscriberId, message: 'mapping.subscriberId: nothing here; the event needs a subscriber id' }],
    );
  }
  const data = resolvePointer(body, mapping.data ?? '');
  const candidate = { type, to, ...(data === undefined || data === null ? {} : { data }) };

  const parsed = eventInputSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const errors: FieldError[] = parsed.error.issues.slice(0, 50).map((issue) => {
    const [top, field] = issue.path;
    const key = top === 'to' && typeof field === 'string' ? field : top === 'data' ? 'data' : undefined;
    const pointer = key === undefined ? undefined : (mapping[key as keyof SourceMapping] ?? '');
    return {
      path: pointer ?? String(top ?? 'body'),
      message: `${key ? `mapping.${key}` : String(top ?? 'body')}: ${issue.message}`,
    };
  });
  // Text Postgres cannot store is a malformed request (400), as on every ingest route; the rest is a
  // body that does not fit the source's mapping (422).
  if (parsed.error.issues.some((issue) => issue.message === UNSTORABLE_TEXT_MESSAGE)) {
    throw Problem.badRequest('The body has text that cannot be stored', errors);
  }
  throw Problem.unprocessable('hook-mapping', 'The body does not map to a valid event', errors);
}

function firstHeader(request: FastifyRequest, name: string): string {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}
