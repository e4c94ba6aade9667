import { z } from 'zod';
import { CHANNELS } from './channels';
import { digestSchema, type DigestConfig } from './digest';
import { rateLimitSchema, type RateLimit } from './rate-limit-policy';

const text = (max: number) => z.string().min(1).max(max);

const localeTag = z
  .string()
  .regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, { error: 'expects a BCP 47 tag, e.g. fr or pt-BR' });

/**
 * A channel's template: its parts, plus optional per-locale variants (`locales: { fr: { subject } }`)
 * that override some parts for subscribers with that locale.
 */
function localized<T extends z.ZodRawShape>(parts: T) {
  const base = z.strictObject(parts);
  return base.extend({ locales: z.record(localeTag, base.partial()).optional() });
}

/** The template parts of each channel (docs/reference.md, "Template fields per channel"). Every string is Liquid. */
export const templateSchemas = {
  email: localized({ subject: text(1000), html: text(500_000).optional(), text: text(500_000).optional() }),
  sms: localized({ body: text(5000) }),
  push: localized({ title: text(1000), body: text(4000), data: z.record(z.string(), z.string()).optional() }),
  inapp: localized({ title: text(1000), body: text(20_000), url: text(2000).optional() }),
  webhook: localized({ payload: text(500_000).optional() }),
} as const;

function channelRule<C extends keyof typeof templateSchemas>(channel: C) {
  return z.strictObject({
    channel: z.literal(channel),
    template: templateSchemas[channel],
    rateLimit: rateLimitSchema.optional(),
    digest: digestSchema.optional(),
  });
}

const channelRuleSchema = z.discriminatedUnion('channel', [
  channelRule('email'),
  channelRule('sms'),
  channelRule('push'),
  channelRule('inapp'),
  // Webhook deliveries go to endpoints, not subscribers: there is no one to digest for.
  channelRule('webhook').omit({ digest: true }),
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
  digest?: DigestConfig;
}
