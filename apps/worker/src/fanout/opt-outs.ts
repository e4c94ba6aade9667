import { preferenceDecision, type Channel, type Preferences } from '@herald/core';
import type { RuleRouting } from '@herald/db';

/** Why a recipient must not get a channel (the delivery's `last_error`), or null when they may. */
export type OptOutCheck = (subscriberId: string, channel: Channel) => string | null;

/**
 * Answers per recipient × channel from preferences loaded once for a batch (FanoutRepository.preferences).
 * Critical rules ignore preferences. Webhook deliveries go to the tenant's endpoints, not to a subscriber,
 * and are not asked about.
 */
export function optOutCheck(
  preferences: { defaults: Preferences; bySubscriber: Map<string, Preferences> },
  rule: RuleRouting,
): OptOutCheck {
  if (rule.critical) return () => null;
  return (subscriberId, channel) => {
    const { optedOut, by } = preferenceDecision({
      subscriber: preferences.bySubscriber.get(subscriberId) ?? {},
      tenantDefaults: preferences.defaults,
      channel,
      category: rule.category,
      critical: false,
    });
    if (!optedOut || !by) return null;
    const forCategory = by.level === 'category' ? ` for category ${rule.category}` : '';
    return by.owner === 'subscriber'
      ? `the subscriber opted out of ${channel}${forCategory}`
      : `the tenant's default preferences opt subscribers out of ${channel}${forCategory}`;
  };
}
