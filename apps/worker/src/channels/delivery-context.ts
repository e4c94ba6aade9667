import type { Pool } from 'pg';
import type { ChannelRule } from '@herald/core';
import type { RenderContext } from '@herald/channels';
import type { ClaimedDelivery } from './delivery-claim';

export interface DeliveryContext {
  template: Record<string, unknown> | null;
  render: RenderContext;
}

// One round trip for what every channel needs to render: the event, the subscriber and the
// channel's template in the event type's current rule.
const LOAD = `
SELECT e.type, e.data, e.created_at AS "createdAt", r.channels,
       s.subscriber_id AS "subscriberId", s.email, s.phone, s.locale, s.timezone, s.data AS "subscriberData"
FROM events e
LEFT JOIN rules r ON r.tenant_id = e.tenant_id AND r.event_type = e.type
LEFT JOIN subscribers s ON s.tenant_id = e.tenant_id AND s.subscriber_id = $2
WHERE e.id = $1`;

export async function loadDeliveryContext(pool: Pool, delivery: ClaimedDelivery): Promise<DeliveryContext> {
  const { rows } = await pool.query(LOAD, [delivery.eventId, delivery.subscriberId]);
  const row = rows[0];
  const template =
    (row?.channels as ChannelRule[] | null)?.find((c) => c.channel === delivery.channel)?.template ?? null;
  return {
    template,
    render: {
      data: row?.data ?? {},
      event: { id: delivery.eventId, type: row?.type, createdAt: row?.createdAt },
      subscriber: {
        subscriberId: delivery.subscriberId,
        email: row?.email ?? undefined,
        phone: row?.phone ?? undefined,
        locale: row?.locale ?? undefined,
        timezone: row?.timezone ?? undefined,
        data: row?.subscriberData ?? {},
      },
    },
  };
}
