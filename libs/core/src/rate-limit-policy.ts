import { z } from 'zod';
import { CHANNELS, type Channel } from './channels';

export const rateLimitSchema = z.strictObject({
  limit: z.number().int().min(1).max(1_000_000),
  windowSeconds: z
    .number()
    .int()
    .min(1)
    .max(86_400 * 31),
  policy: z.enum(['defer', 'drop']),
});
export type RateLimit = z.infer<typeof rateLimitSchema>;

/** A tenant's default per-subscriber limits, by channel (null lifts a channel's default). */
export const tenantRateLimitsSchema = z.partialRecord(z.enum(CHANNELS), rateLimitSchema.nullable());
export type TenantRateLimits = Partial<Record<Channel, RateLimit | null>>;

export interface AppliedRateLimit extends RateLimit {
  /**
   * The counter the limit is kept in: a rule with its own limit counts only its own deliveries;
   * the tenant default counts every delivery on the channel not governed by a rule's limit.
   */
  scope: string;
}

/**
 * Which per-subscriber limit governs a delivery: none for critical rules (they bypass limits by
 * design) or deliveries without a subscriber (webhooks go to endpoints); else the rule's own
 * limit for the channel, else the tenant's default for the channel.
 */
export function applicableRateLimit(input: {
  channel: Channel;
  subscriberId: string | null;
  eventType: string;
  critical: boolean;
  ruleLimit?: RateLimit;
  tenantLimits: TenantRateLimits;
}): AppliedRateLimit | null {
  if (input.critical || !input.subscriberId) return null;
  if (input.ruleLimit) return { ...input.ruleLimit, scope: `rule:${input.eventType}` };
  const tenantLimit = input.tenantLimits[input.channel];
  return tenantLimit ? { ...tenantLimit, scope: 'channel' } : null;
}
