import { z } from 'zod';
import type { Channel } from './channels';

export const MAX_PREFERENCE_CATEGORIES = 100;

/** One on/off setting per channel: `false` opts out, `true` opts (back) in, absent defers to the next level. */
const channelSettingsSchema = z.strictObject({
  email: z.boolean().optional(),
  sms: z.boolean().optional(),
  push: z.boolean().optional(),
  inapp: z.boolean().optional(),
  webhook: z.boolean().optional(),
});
export type ChannelSettings = z.infer<typeof channelSettingsSchema>;

/**
 * A subscriber's preferences, or a tenant's defaults (same shape): channel settings, and channel
 * settings per rule category (`marketing`, `security`, …). docs/api.md.
 */
export const preferencesSchema = z.strictObject({
  channels: channelSettingsSchema.optional(),
  categories: z
    .record(z.string().min(1).max(100), channelSettingsSchema)
    .refine((categories) => Object.keys(categories).length <= MAX_PREFERENCE_CATEGORIES, {
      error: `expects at most ${MAX_PREFERENCE_CATEGORIES} categories`,
    })
    .optional(),
});
export type Preferences = z.infer<typeof preferencesSchema>;

export interface PreferenceQuestion {
  subscriber: Preferences;
  tenantDefaults: Preferences;
  channel: Channel;
  /** The rule's category; without one only channel settings count. */
  category?: string | null;
  /** Critical rules (password resets, security alerts) are sent whatever the preferences say. */
  critical: boolean;
}

/** Which setting decided: `null` when none applies (opted in by default) or the rule is critical. */
export interface PreferenceDecision {
  optedOut: boolean;
  by: { owner: 'subscriber' | 'tenant'; level: 'category' | 'channel' } | null;
}

/**
 * Precedence, most specific first — the first level that has a setting for the channel decides:
 *   1. the subscriber's setting for the rule's category,
 *   2. the subscriber's setting for the channel,
 *   3. the tenant default for the category,
 *   4. the tenant default for the channel,
 *   5. otherwise opted in.
 * So anything the subscriber chose beats any tenant default (a subscriber's `channels.email: true`
 * re-opens marketing email the tenant turned off by default), and within one owner a category
 * setting beats the channel setting. A critical rule is never opted out.
 */
export function preferenceDecision(q: PreferenceQuestion): PreferenceDecision {
  if (q.critical) return { optedOut: false, by: null };
  const levels = [
    { owner: 'subscriber', level: 'category', value: categorySetting(q.subscriber, q.category, q.channel) },
    { owner: 'subscriber', level: 'channel', value: setting(q.subscriber?.channels, q.channel) },
    { owner: 'tenant', level: 'category', value: categorySetting(q.tenantDefaults, q.category, q.channel) },
    { owner: 'tenant', level: 'channel', value: setting(q.tenantDefaults?.channels, q.channel) },
  ] as const;
  const decided = levels.find((l) => l.value !== undefined);
  if (!decided) return { optedOut: false, by: null };
  return { optedOut: decided.value === false, by: { owner: decided.owner, level: decided.level } };
}

/** Whether the subscriber must not receive this channel for this category (see preferenceDecision). */
export function isOptedOut(q: PreferenceQuestion): boolean {
  return preferenceDecision(q).optedOut;
}

function categorySetting(prefs: Preferences | undefined, category: string | null | undefined, channel: Channel) {
  if (!category || !prefs?.categories || !Object.hasOwn(prefs.categories, category)) return undefined;
  return setting(prefs.categories[category], channel);
}

// Stored preferences were validated on write; anything but a boolean still counts as "no setting".
function setting(settings: ChannelSettings | undefined, channel: Channel): boolean | undefined {
  const value: unknown = settings?.[channel];
  return typeof value === 'boolean' ? value : undefined;
}
