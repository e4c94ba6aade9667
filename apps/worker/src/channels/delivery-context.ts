import { applicableRateLimit, type AppliedRateLimit, type QuietHours } from '@herald/core';
import { localizedTemplate, renderContext, type RenderContext } from '@herald/channels';
import type { ClaimedDelivery, DeliveryRow } from '@herald/db';
import type { DigestRender } from '../digest/flush-digest';

/** What sending one claimed delivery needs, built from its row of the batch's one context read. */
export interface DeliveryContext {
  template: Record<string, unknown> | null;
  /** a digest's delivery also renders with its gathered `events` and their `count` */
  render: RenderContext & Partial<DigestRender>;
  /** the digest this delivery sends, if it is a digest's */
  digestId: string | null;
  subscriber: { email: string | null; phone: string | null } | null;
  /** webhook deliveries: the endpoint they go to */
  endpoint: DeliveryRow['endpoint'];
  event: DeliveryRow['event'] & { id: string };
  /** the per-subscriber limit this delivery counts against, if any */
  rateLimit: AppliedRateLimit | null;
  /** the tenant's own SMS sender, when it has one */
  smsFrom: string | null;
  /** the quiet hours this delivery must wait out (the subscriber's, else the tenant's); none for critical rules */
  quietHours: { window: QuietHours; timeZone: string | null } | null;
  tenantRevoked: boolean;
}

export function deliveryContext(delivery: ClaimedDelivery, row: DeliveryRow): DeliveryContext {
  const channelRule = row.channels?.find((c) => c.channel === delivery.channel);
  const event = { id: delivery.eventId, ...row.event };
  const subscriber = row.subscriber;
  // An endpoint that names the event's type gets it with or without a rule's webhook channel: without
  // one, as the event's envelope (an empty template renders no `payload`). See docs/webhooks.md.
  const subscribed = delivery.channel === 'webhook' && !!row.endpoint?.eventTypes.includes(row.event.type);
  return {
    template: channelRule ? localizedTemplate(channelRule.template, subscriber?.locale) : subscribed ? {} : null,
    event,
    smsFrom: row.tenant.smsFrom,
    digestId: row.digestId,
    tenantRevoked: row.tenant.revoked,
    quietHours:
      delivery.subscriberId && row.quietHours && !row.critical
        ? { window: row.quietHours, timeZone: subscriber?.timezone ?? null }
        : null,
    rateLimit: applicableRateLimit({
      channel: delivery.channel,
      subscriberId: delivery.subscriberId,
      eventType: row.event.type,
      critical: row.critical,
      ruleLimit: channelRule?.rateLimit,
      tenantLimits: row.tenant.rateLimits,
    }),
    subscriber: delivery.subscriberId ? { email: subscriber?.email ?? null, phone: subscriber?.phone ?? null } : null,
    endpoint: row.endpoint,
    render: renderContext(
      event,
      delivery.subscriberId
        ? {
            subscriberId: delivery.subscriberId,
            email: subscriber?.email,
            phone: subscriber?.phone,
            locale: subscriber?.locale,
            timezone: subscriber?.timezone,
            data: subscriber?.data ?? undefined,
          }
        : null,
    ),
  };
}
