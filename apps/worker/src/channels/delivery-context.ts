import type { Pool } from 'pg';
import { applicableRateLimit, type AppliedRateLimit, type ChannelRule, type QuietHours } from '@herald/core';
import { localizedTemplate, renderContext, type RenderContext } from '@herald/channels';
import type { DigestRender } from '../digest/flush-digest';
import type { ClaimedDelivery } from './delivery-claim';

export interface DeliveryContext {
  template: Record<string, unknown> | null;
  /** a digest's delivery also renders with its gathered `events` and their `count` */
  render: RenderContext & Partial<DigestRender>;
  /** the digest this delivery sends, if it is a digest's */
  digestId: string | null;
  subscriber: { email: string | null; phone: string | null } | null;
  /** webhook deliveries: the endpoint they go to */
  endpoint: { url: string; secret: string; active: boolean; disabledReason: string | null } | null;
  event: {
    id: string;
    type: string;
    createdAt: Date;
    data: Record<string, unknown>;
    status: string;
    /** from the ingest request; carried into log lines and webhook headers */
    correlationId: string | null;
  };
  /** the per-subscriber limit this delivery counts against, if any */
  rateLimit: AppliedRateLimit | null;
  /** the tenant's own SMS sender, when it has one */
  smsFrom: string | null;
  /** the quiet hours this delivery must wait out (the subscriber's, else the tenant's); none for critical rules */
  quietHours: { window: QuietHours; timeZone: string | null } | null;
}

// One round trip for what every channel needs: the event, the subscriber (or the webhook
// endpoint), the channel's template in the event type's current rule, and the rate limits.
const LOAD = `
SELECT e.type, e.data, e.status, e.created_at AS "createdAt", e.correlation_id AS "correlationId", r.channels, r.critical, t.rate_limits AS "tenantRateLimits", t.sms_from AS "smsFrom",
       s.email, s.phone, s.locale, s.timezone, s.data AS "subscriberData",
       COALESCE(s.quiet_hours, t.quiet_hours) AS "quietHours", g.id AS "digestId",
       w.url AS "endpointUrl", w.secret AS "endpointSecret", w.active AS "endpointActive",
       w.disabled_reason AS "endpointDisabledReason"
FROM events e
JOIN tenants t ON t.id = e.tenant_id
LEFT JOIN rules r ON r.tenant_id = e.tenant_id AND r.event_type = e.type
LEFT JOIN subscribers s ON s.tenant_id = e.tenant_id AND s.subscriber_id = $2
LEFT JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.id = $3
LEFT JOIN digests g ON g.delivery_id = $4
WHERE e.id = $1`;

export async function loadDeliveryContext(pool: Pool, delivery: ClaimedDelivery): Promise<DeliveryContext> {
  const { rows } = await pool.query(LOAD, [delivery.eventId, delivery.subscriberId, delivery.endpointId, delivery.id]);
  const row = rows[0] ?? {};
  const channelRule = (row.channels as ChannelRule[] | null)?.find((c) => c.channel === delivery.channel);
  const event = {
    id: delivery.eventId,
    type: row.type,
    createdAt: row.createdAt,
    data: row.data ?? {},
    status: row.status,
    correlationId: row.correlationId ?? null,
  };
  return {
    template: channelRule ? localizedTemplate(channelRule.template, row.locale) : null,
    event,
    smsFrom: row.smsFrom ?? null,
    digestId: row.digestId ?? null,
    quietHours:
      delivery.subscriberId && row.quietHours && !row.critical
        ? { window: row.quietHours, timeZone: row.timezone ?? null }
        : null,
    rateLimit: applicableRateLimit({
      channel: delivery.channel,
      subscriberId: delivery.subscriberId,
      eventType: row.type,
      critical: row.critical ?? false,
      ruleLimit: channelRule?.rateLimit,
      tenantLimits: row.tenantRateLimits ?? {},
    }),
    subscriber: delivery.subscriberId ? { email: row.email ?? null, phone: row.phone ?? null } : null,
    endpoint: row.endpointUrl
      ? {
          url: row.endpointUrl,
          secret: row.endpointSecret,
          active: row.endpointActive,
          disabledReason: row.endpointDisabledReason,
        }
      : null,
    render: renderContext(
      event,
      delivery.subscriberId
        ? {
            subscriberId: delivery.subscriberId,
            email: row.email,
            phone: row.phone,
            locale: row.locale,
            timezone: row.timezone,
            data: row.subscriberData,
          }
        : null,
    ),
  };
}

/** Tokens of the subscriber's active devices, for push. */
export async function activeDeviceTokens(pool: Pool, tenantId: string, subscriberId: string): Promise<string[]> {
  const { rows } = await pool.query<{ token: string }>(
    `SELECT token FROM devices WHERE tenant_id = $1 AND subscriber_id = $2 AND active ORDER BY created_at`,
    [tenantId, subscriberId],
  );
  return rows.map((r) => r.token);
}
