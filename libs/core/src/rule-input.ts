import { z } from 'zod';
import { CHANNELS } from './channels';
import { rateLimitSchema, type RateLimit } from './rate-limit-policy';

const text = (max: number) => z.string().min(1).max(max);

/** The template parts of each channel (API.md, "Routing rules"). Every string is Liquid. */
export const templateSchemas = {
  email: z.strictObject({ subject: text(1000), html: text(500_000).optional(), text: text(500_000).optional() }),
  sms: z.strictObject({ body: text(5000) }),
  push: z.strictObject({ title: text(1000), body: text(4000), data: z.record(z.string(), z.string()).optional() }),
  inapp: z.strictObject({ title: text(1000), body: text(20_000), url: text(2000).optional() }),
  webhook: z.strictObject({ payload: text(500_000).optional() }),
} as const;

function channelRule<C extends keyof typeof templateSchemas>(channel: C) {
  return z.strictObject({
    channel: z.literal(channel),
    template: templateSchemas[channel],
    rateLimit: rateLimitSchema.optional(),
  });
}

const channelRuleSchema = z.discriminatedUnion('channel', [
  channelRule('email'),
  channelRule('sms'),
  channelRule('push'),
  channelRule('inapp'),
  channelRule('webhook'),
]);

export const ruleInputSchema = z.strictObject({
  category: z.string().min(1).max(100).optional(),
  critical: z.boolean().optional(),
  channels: z
    .array(channelRuleSchema)
    .min(1)
    .max(CHANNELS.length)
    .refine((list) => new Set(list.map((c) => c.channel)).size === list.length, {
      error: 'expects each channel at most once',
    }),
});
export type RuleInput = z.infer<typeof ruleInputSchema>;

/** A rule's channel entry as stored (template parts are strings keyed by part name). */
export interface ChannelRule {
  channel: (typeof CHANNELS)[number];
  template: Record<string, unknown>;
  rateLimit?: RateLimit;
}
