import { Controller, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { eventTypeSchema, isUuid, ruleInputSchema, type ChannelRule } from '@herald/core';
import {
  TemplateError,
  localizedTemplate,
  renderChannelTemplate,
  renderContext,
  smsSegments,
  webhookBody,
  type ContentEvent,
  type ContentSubscriber,
  type RenderContext,
} from '@herald/channels';
import { EventsRepository, RulesRepository, SubscribersRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidBody, ValidParam } from '../http/valid-input';
import { Problem, type FieldError } from '../http/problem';
import { checkTemplates, invalidRule } from './rule-templates';
import { Returns } from '../docs/api-output.decorator';
import { rulePreviewSchema } from './rules.contract';

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

/** What the templates see, and the event a webhook's envelope is made of. */
interface Sample {
  event: ContentEvent;
  context: RenderContext;
}

/**
 * What a rule's templates render to for sample data, a stored event or a stored subscriber, per
 * channel, with nothing sent or saved. A template that does not parse or render is a 422 naming
 * the part, as PUT /v1/rules/:eventType answers.
 */
@Controller('v1/rules')
@Auth('admin')
export class RulePreviewController {
  constructor(
    private readonly events: EventsRepository,
    private readonly rules: RulesRepository,
    private readonly subscribers: SubscribersRepository,
  ) {}

  @Post(':eventType/preview')
  @HttpCode(200)
  @Returns(rulePreviewSchema)
  async preview(
    @TenantId() tenantId: string,
    @ValidParam('eventType', eventTypeSchema) eventType: string,
    @ValidBody(previewSchema.optional()) body: PreviewInput | undefined,
  ) {
    const input = body ?? {};
    const { entries, pathOf } = await this.templates(tenantId, eventType, input);
    checkTemplates(entries, pathOf);

    const sample = await this.sample(tenantId, eventType, input);
    const channels = [];
    const errors: FieldError[] = [];
    for (const [i, entry] of entries.entries()) {
      try {
        channels.push(await renderChannel(entry, sample));
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        errors.push({ path: `${pathOf(i)}.${err.part}`, message: err.message });
      }
    }
    if (errors.length) throw invalidRule(errors);
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
    const saved = await this.rules.get(tenantId, eventType);
    if (!saved) throw Problem.notFound(`Rule for ${eventType}`);
    return { entries: saved.channels as unknown as ChannelRule[], pathOf: (i: number) => `channels[${i}].template` };
  }

  /** What the templates see, built as the worker builds it, from samples or stored rows. */
  private async sample(tenantId: string, eventType: string, input: PreviewInput): Promise<Sample> {
    let event: ContentEvent = { id: 'preview', type: eventType, createdAt: new Date(), data: input.data ?? {} };
    if (input.eventId) {
      const stored = await this.events.find(tenantId, input.eventId);
      if (!stored) throw Problem.notFound(`Event ${input.eventId}`);
      const data = (stored.data as Record<string, unknown> | null) ?? {};
      event = { id: stored.id, type: stored.type, createdAt: stored.createdAt, data };
    }
    let subscriber: ContentSubscriber | null = input.subscriber ?? null;
    if (input.subscriberId) {
      subscriber = await this.subscribers.get(tenantId, input.subscriberId);
      if (!subscriber) throw Problem.notFound(`Subscriber ${input.subscriberId}`);
    }
    return { event, context: renderContext(event, subscriber) };
  }
}

/** One channel's rendered parts, in the subscriber's locale; a digest sees this event as its only one. */
async function renderChannel(entry: ChannelRule, { event, context }: Sample) {
  const locale = typeof context.subscriber.locale === 'string' ? context.subscriber.locale : undefined;
  const digest = entry.digest ? { events: [context.data], count: 1 } : {};
  // Rendered as the worker renders it: the html of an email escaped, the other parts as written.
  const content = await renderChannelTemplate(entry.channel, localizedTemplate(entry.template, locale), {
    ...context,
    ...digest,
  });
  switch (entry.channel) {
    case 'sms':
      return { channel: entry.channel, content, segments: smsSegments(String(content.body ?? '')) };
    case 'webhook':
      return {
        channel: entry.channel,
        content: { payload: webhookBody(event, content.payload as string | undefined) },
      };
    default:
      return { channel: entry.channel, content };
  }
}
