import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { eventTypeSchema, isUuid, ruleInputSchema, type ChannelRule } from '@herald/core';
import { TemplateError, compileTemplate, localizedTemplate, renderTemplate, smsSegments } from '@herald/channels';
import { PrismaService } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { parse } from '../http/parse';
import { Problem, type FieldError } from '../http/problem';

const channelRuleSchema = ruleInputSchema.shape.channels.element;
const text = (max: number) => z.string().max(max).optional();

/** Sample data for a preview: anything a template may read, without the checks a real recipient gets. */
const sampleSubscriberSchema = z.strictObject({
  subscriberId: text(255),
  email: text(320),
  phone: text(32),
  locale: text(35),
  timezone: text(64),
  data: z.record(z.string(), z.unknown()).optional(),
});

const previewSchema = z
  .strictObject({
    rule: ruleInputSchema.optional().describe('a rule as PUT /v1/rules/:eventType takes it'),
    channel: channelRuleSchema.optional().describe("one channel's entry of a rule"),
    data: z.record(z.string(), z.unknown()).optional().describe("sample event data (the template's `data`)"),
    eventId: z.string().refine(isUuid, 'must be an event id (a UUID)').optional().describe('use this event'),
    subscriber: sampleSubscriberSchema.optional().describe('a sample subscriber'),
    subscriberId: z.string().min(1).max(255).optional().describe("use this subscriber's stored profile"),
  })
  .refine((b) => !(b.rule && b.channel), { error: 'give `rule` or `channel`, not both', path: ['channel'] })
  .refine((b) => !(b.data && b.eventId), { error: 'give `data` or `eventId`, not both', path: ['eventId'] })
  .refine((b) => !(b.subscriber && b.subscriberId), {
    error: 'give `subscriber` or `subscriberId`, not both',
    path: ['subscriberId'],
  })
  .describe(
    'Renders templates without sending anything: `rule` or `channel` (default: the saved rule), with ' +
      '`data` or a stored event (`eventId`), for `subscriber` or a stored one (`subscriberId`).',
  );
type PreviewInput = z.infer<typeof previewSchema>;

type RenderSample = Parameters<typeof renderTemplate>[1] & { events?: unknown[]; count?: number };

/**
 * What a rule's templates render to for sample data, a stored event or a stored subscriber, per
 * channel, with nothing sent or saved. A template that does not parse or render is a 422 naming
 * the part, as PUT /v1/rules/:eventType answers.
 */
@Controller('v1/rules')
@Auth('admin')
export class RulePreviewController {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  @Post(':eventType/preview')
  @HttpCode(200)
  @ApiInput({ body: previewSchema.optional() })
  async preview(@TenantId() tenantId: string, @Param('eventType') rawType: string, @Body() body: unknown) {
    const eventType = parse(eventTypeSchema, rawType, 'eventType');
    const input = parse(previewSchema, body ?? {});
    const { entries, pathOf } = await this.templates(tenantId, eventType, input);
    const errors: FieldError[] = [];
    entries.forEach((entry, i) => {
      try {
        compileTemplate(entry.template);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        errors.push({ path: `${pathOf(i)}.${err.part}`, message: `Liquid: ${err.message}` });
      }
    });
    if (errors.length) throw invalid(errors);

    const sample = await this.sample(tenantId, eventType, input);
    const channels = [];
    for (const [i, entry] of entries.entries()) {
      try {
        channels.push(await renderChannel(entry, sample));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        errors.push({ path: `${pathOf(i)}.${err.part}`, message: err.message });
      }
    }
    if (errors.length) throw invalid(errors);
    return { eventType, channels };
  }

  /** The channel entries to render, and the body path of each one's template (for errors). */
  private async templates(
    tenantId: string,
    eventType: string,
    input: PreviewInput,
  ): Promise<{ entries: ChannelRule[]; pathOf: (i: number) => string }> {
    if (input.rule) return { entries: input.rule.channels, pathOf: (i: number) => `rule.channels[${i}].template` };
    if (input.channel) return { entries: [input.channel], pathOf: () => 'channel.template' };
    const saved = await this.prisma.rule.findUnique({ where: { tenantId_eventType: { tenantId, eventType } } });
    if (!saved) throw Problem.notFound(`Rule for ${eventType}`);
    return { entries: saved.channels as unknown as ChannelRule[], pathOf: (i: number) => `channels[${i}].template` };
  }

  /** What the templates see, as the worker builds it (delivery-context.ts), from samples or stored rows. */
  private async sample(tenantId: string, eventType: string, input: PreviewInput): Promise<RenderSample> {
    let event: Record<string, unknown> = { id: 'preview', type: eventType, createdAt: new Date() };
    let data = input.data ?? {};
    if (input.eventId) {
      const stored = await this.prisma.event.findFirst({ where: { id: input.eventId, tenantId } });
      if (!stored) throw Problem.notFound(`Event ${input.eventId}`);
      event = { id: stored.id, type: stored.type, createdAt: stored.createdAt };
      data = (stored.data as Record<string, unknown> | null) ?? {};
    }
    let subscriber: Record<string, unknown> = input.subscriber ?? {};
    if (input.subscriberId) {
      const stored = await this.prisma.subscriber.findUnique({
        where: { tenantId_subscriberId: { tenantId, subscriberId: input.subscriberId } },
      });
      if (!stored) throw Problem.notFound(`Subscriber ${input.subscriberId}`);
      subscriber = {
        subscriberId: stored.subscriberId,
        email: stored.email ?? undefined,
        phone: stored.phone ?? undefined,
        locale: stored.locale ?? undefined,
        timezone: stored.timezone ?? undefined,
        data: stored.data ?? {},
      };
    }
    return { data, event, subscriber };
  }
}

/** One channel's rendered parts, in the subscriber's locale; a digest sees this event as its only one. */
async function renderChannel(entry: ChannelRule, sample: RenderSample) {
  const locale = typeof sample.subscriber.locale === 'string' ? sample.subscriber.locale : undefined;
  const context = entry.digest ? { ...sample, events: [sample.data], count: 1 } : sample;
  const content = await renderTemplate(localizedTemplate(entry.template, locale), context);
  switch (entry.channel) {
    case 'sms':
      return { channel: entry.channel, content, segments: smsSegments(String(content.body ?? '')) };
    case 'webhook':
      return { channel: entry.channel, content: { payload: webhookPayload(content.payload, sample) } };
    default:
      return { channel: entry.channel, content };
  }
}

/** The body a webhook endpoint would receive: the rendered payload (which must be JSON), else the envelope. */
function webhookPayload(rendered: unknown, sample: RenderSample): unknown {
  if (typeof rendered !== 'string') {
    const { id, type, createdAt } = sample.event as { id: string; type: string; createdAt: Date };
    return { id, type, timestamp: createdAt.toISOString(), data: sample.data };
  }
  try {
    return JSON.parse(rendered) as unknown;
  } catch {
    throw new TemplateError('payload', 'renders to text that is not JSON (the delivery would fail)');
  }
}

function invalid(errors: FieldError[]): Problem {
  return Problem.unprocessable('invalid-rule', 'The rule cannot be used as written', errors);
}
