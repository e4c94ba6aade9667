import type { Pool } from 'pg';
import { preferenceDecision, type Channel, type Preferences } from '@herald/core';

// The tenant's defaults and the preferences of this event's recipients that have any, in one query.
const PREFERENCES = `
SELECT t.default_preferences AS defaults,
  COALESCE((SELECT jsonb_object_agg(s.subscriber_id, s.preferences) FROM subscribers s
            WHERE s.tenant_id = t.id AND s.subscriber_id = ANY($2::text[]) AND s.preferences <> '{}'::jsonb),
           '{}'::jsonb) AS subscribers
FROM tenants t WHERE t.id = $1`;

/** What of a rule decides whether preferences apply. */
export interface RuleRouting {
  category: string | null;
  critical: boolean;
}

/** Why a recipient must not get a channel (the delivery's `last_error`), or null when they may. */
export type OptOutCheck = (subscriberId: string, channel: Channel) => string | null;

/**
 * Loads the preferences that matter for one event's recipients, once, and answers per recipient ×
 * channel. Critical rules ignore preferences, so nothing is read for them. Webhook deliveries go to
 * the tenant's endpoints, not to a subscriber, and are not asked about.
 */
export async function loadOptOuts(
  pool: Pool,
  tenantId: string,
  subscriberIds: string[],
  rule: RuleRouting,
): Promise<OptOutCheck> {
  if (rule.critical) return () => null;
  const { rows } = await pool.query<{ defaults: Preferences; subscribers: Record<string, Preferences> }>(PREFERENCES, [
    tenantId,
    subscriberIds,
  ]);
  const tenantDefaults = rows[0]?.defaults ?? {};
  const bySubscriber = new Map(Object.entries(rows[0]?.subscribers ?? {}));
  return (subscriberId, channel) => {
    const { optedOut, by } = preferenceDecision({
      subscriber: bySubscriber.get(subscriberId) ?? {},
      tenantDefaults,
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
