import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Addressee, ChannelRule, Preferences } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { filterOnly } from './filter-only';

/** What of a rule decides whether preferences apply. */
export interface RuleRouting {
  category: string | null;
  critical: boolean;
}

export type FanoutRule = { channels: ChannelRule[] } & RuleRouting;

export interface FanoutEvent {
  id: string;
  type: string;
  recipients: Addressee[];
  status: string;
  fanoutCursor: string | null;
  correlationId: string | null;
  /** null when no rule exists for the event's type */
  rule: FanoutRule | null;
  /** ids of the tenant's active endpoints taking the event: naming its type, or any type when its rule has a webhook channel */
  endpoints: string[];
}

// The events of one tenant, their rules and the tenant's active endpoints that take each event: those that
// name its type, and (for a rule with a webhook channel) those that name no type at all; in one read for the
// whole batch. Webhook deliveries go once per endpoint, not per recipient. A suspended tenant's events are
// not fanned out (its status answers why). docs/webhooks.md says which endpoint gets what.
const EVENTS = `
SELECT e.id, e.type, e.recipients, e.status, e.fanout_cursor AS "fanoutCursor", e.correlation_id AS "correlationId",
  r.channels, r.category, r.critical, t.revoked_at IS NOT NULL AS "tenantRevoked",
  ARRAY(SELECT w.id FROM webhook_endpoints w
        WHERE w.tenant_id = e.tenant_id AND w.active
          AND (e.type = ANY(w.event_types)
               OR (cardinality(w.event_types) = 0 AND r.channels @> '[{"channel": "webhook"}]'))
        ORDER BY w.id) AS endpoints
FROM events e
JOIN tenants t ON t.id = e.tenant_id
LEFT JOIN rules r ON r.tenant_id = e.tenant_id AND r.event_type = e.type
WHERE e.id = ANY($2::uuid[]) AND ${filterOnly('e.tenant_id', '$1')}`;

// Inline subscriber fields from the events upsert the subscribers, once each (several events of a batch may
// name one subscriber: the newest event's given fields win); given fields win over what is stored, absent
// ones keep it, and rows that would not change are not rewritten. In subscriber-id order, so two batches
// upserting the same subscribers lock them in the same order. Topic entries have no subscriberId.
const UPSERT_SUBSCRIBERS = `
INSERT INTO subscribers (id, tenant_id, subscriber_id, email, phone, locale, timezone)
SELECT gen_random_uuid(), $1, s, email, phone, locale, timezone FROM (
  SELECT r."subscriberId" AS s,
    (array_agg(r.email ORDER BY e.created_at DESC, e.id DESC) FILTER (WHERE r.email IS NOT NULL))[1] AS email,
    (array_agg(r.phone ORDER BY e.created_at DESC, e.id DESC) FILTER (WHERE r.phone IS NOT NULL))[1] AS phone,
    (array_agg(r.locale ORDER BY e.created_at DESC, e.id DESC) FILTER (WHERE r.locale IS NOT NULL))[1] AS locale,
    (array_agg(r.timezone ORDER BY e.created_at DESC, e.id DESC) FILTER (WHERE r.timezone IS NOT NULL))[1] AS timezone
  FROM events e, jsonb_to_recordset(e.recipients) AS r("subscriberId" text, email text, phone text, locale text, timezone text)
  WHERE e.id = ANY($2::uuid[]) AND ${filterOnly('e.tenant_id', '$1')} AND r."subscriberId" IS NOT NULL
  GROUP BY r."subscriberId"
) given
ORDER BY s
ON CONFLICT (tenant_id, subscriber_id) DO UPDATE SET
  email = COALESCE(EXCLUDED.email, subscribers.email),
  phone = COALESCE(EXCLUDED.phone, subscribers.phone),
  locale = COALESCE(EXCLUDED.locale, subscribers.locale),
  timezone = COALESCE(EXCLUDED.timezone, subscribers.timezone),
  updated_at = now()
WHERE (subscribers.email, subscribers.phone, subscribers.locale, subscribers.timezone) IS DISTINCT FROM
  (COALESCE(EXCLUDED.email, subscribers.email), COALESCE(EXCLUDED.phone, subscribers.phone),
   COALESCE(EXCLUDED.locale, subscribers.locale), COALESCE(EXCLUDED.timezone, subscribers.timezone))`;

// Inline push tokens register (or re-activate) the subscribers' devices, each token once (the newest event's).
const UPSERT_DEVICES = `
INSERT INTO devices (id, tenant_id, subscriber_id, token, platform)
SELECT gen_random_uuid(), $1, subscriber_id, token, platform FROM (
  SELECT DISTINCT ON (t.token) r."subscriberId" AS subscriber_id, t.token, t.platform
  FROM events e,
    jsonb_to_recordset(e.recipients) AS r("subscriberId" text, "pushTokens" jsonb),
    jsonb_to_recordset(COALESCE(r."pushTokens", '[]')) AS t(token text, platform text)
  WHERE e.id = ANY($2::uuid[]) AND ${filterOnly('e.tenant_id', '$1')}
  ORDER BY t.token, e.created_at DESC, e.id DESC
) given
ON CONFLICT (tenant_id, token) DO UPDATE SET
  subscriber_id = EXCLUDED.subscriber_id, platform = EXCLUDED.platform,
  active = true, deactivated_reason = NULL, deactivated_at = NULL, updated_at = now()
WHERE (devices.subscriber_id, devices.platform, devices.active) IS DISTINCT FROM (EXCLUDED.subscriber_id, EXCLUDED.platform, true)`;

// Both upserts in one statement: one round trip on the fan-out's hot path (devices has no foreign key to
// subscribers, so neither CTE needs to see the other's rows).
const UPSERT_RECIPIENTS = `WITH subscribers_upserted AS (${UPSERT_SUBSCRIBERS}), devices_upserted AS (${UPSERT_DEVICES}) SELECT 1`;

// The tenant's defaults and the preferences of these subscribers that have any, in one query.
const PREFERENCES = `
SELECT t.default_preferences AS defaults,
  COALESCE((SELECT jsonb_object_agg(s.subscriber_id, s.preferences) FROM subscribers s
            WHERE s.tenant_id = t.id AND s.subscriber_id = ANY($2::text[]) AND s.preferences <> '{}'::jsonb),
           '{}'::jsonb) AS subscribers
FROM tenants t WHERE t.id = $1`;

// The next members of an event's topics, each once, in subscriber-id order. One index range per topic
// (the primary key), each at most `limit` long: a batch costs the same at the millionth member as at the
// first, and a subscriber in two topics comes out once.
const NEXT_MEMBERS = `
SELECT DISTINCT m.subscriber_id AS "subscriberId"
FROM topics t
CROSS JOIN LATERAL (
  SELECT tm.subscriber_id FROM topic_members tm
  WHERE tm.topic_id = t.id AND tm.subscriber_id > $3
  ORDER BY tm.subscriber_id
  LIMIT $4
) m
WHERE t.tenant_id = $1 AND t.key = ANY($2::text[])
ORDER BY 1
LIMIT $4`;

const ADVANCE_CURSOR = `
UPDATE events SET fanout_cursor = $3, updated_at = now()
WHERE id = $2 AND ${filterOnly('tenant_id', '$1')} AND (fanout_cursor IS NULL OR fanout_cursor < $3)`;

const SET_STATUS = `
UPDATE events SET status = $3, updated_at = now()
WHERE id = ANY($2::uuid[]) AND ${filterOnly('tenant_id', '$1')} AND ${filterOnly('status', "'accepted'")}`;

/** What the fan-out reads and writes besides deliveries, for one tenant's batch of events at a time. */
@Injectable()
export class FanoutRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The events (of those asked that exist), their rules and endpoints; `tenantRevoked` when it is suspended. */
  async events(tenantId: string, eventIds: string[]): Promise<{ events: FanoutEvent[]; tenantRevoked: boolean }> {
    const { rows } = await this.pool.query<
      Omit<FanoutEvent, 'rule'> & Partial<FanoutRule> & { channels: ChannelRule[] | null; tenantRevoked: boolean }
    >({ name: 'fanout-events', text: EVENTS, values: [tenantId, eventIds] });
    return {
      tenantRevoked: rows.some((r) => r.tenantRevoked),
      events: rows.map(({ channels, category = null, critical = false, tenantRevoked: _, ...event }) => ({
        ...event,
        rule: channels ? { channels, category, critical } : null,
      })),
    };
  }

  /** Creates or updates the subscribers (and push devices) the events name inline. */
  async upsertRecipients(tenantId: string, eventIds: string[]): Promise<void> {
    await this.pool.query({ name: 'fanout-upsert-recipients', text: UPSERT_RECIPIENTS, values: [tenantId, eventIds] });
  }

  /** The tenant's default preferences, and those of the subscribers asked about that have their own. */
  async preferences(
    tenantId: string,
    subscriberIds: string[],
  ): Promise<{ defaults: Preferences; bySubscriber: Map<string, Preferences> }> {
    const { rows } = await this.pool.query<{ defaults: Preferences; subscribers: Record<string, Preferences> }>(
      PREFERENCES,
      [tenantId, subscriberIds],
    );
    return { defaults: rows[0]?.defaults ?? {}, bySubscriber: new Map(Object.entries(rows[0]?.subscribers ?? {})) };
  }

  /** Up to `limit` subscriber ids after `after` ('' = from the first) among the members of `topics`. */
  async nextMembers(tenantId: string, topics: string[], after: string, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ subscriberId: string }>(NEXT_MEMBERS, [tenantId, topics, after, limit]);
    return rows.map((r) => r.subscriberId);
  }

  /** A topic fan-out's progress: the last member whose deliveries exist. */
  async advanceCursor(tenantId: string, eventId: string, last: string): Promise<void> {
    await this.pool.query(ADVANCE_CURSOR, [tenantId, eventId, last]);
  }

  /** Ends the fan-out of `accepted` events as `routed`, `unrouted` or `cancelled`. */
  async setStatus(tenantId: string, eventIds: string[], status: 'routed' | 'unrouted' | 'cancelled'): Promise<void> {
    if (eventIds.length) await this.pool.query(SET_STATUS, [tenantId, eventIds, status]);
  }
}
