import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  normalizeAddress,
  type ChannelRule,
  type QuietHours,
  type SuppressibleChannel,
  type TenantRateLimits,
} from '@herald/core';
import type { ClaimedDelivery } from './deliveries.repository';
import { PG_POOL } from './pg-pool';
import { filterOnly } from './filter-only';

/** What sending one claimed delivery needs to know, read for a whole batch at once. */
export interface DeliveryRow {
  id: string;
  event: {
    type: string;
    data: Record<string, unknown>;
    status: string;
    createdAt: Date;
    correlationId: string | null;
  };
  /** the channels of the event type's current rule (null: the rule was deleted) */
  channels: ChannelRule[] | null;
  critical: boolean;
  tenant: { rateLimits: TenantRateLimits; smsFrom: string | null; revoked: boolean };
  subscriber: {
    email: string | null;
    phone: string | null;
    locale: string | null;
    timezone: string | null;
    data: Record<string, unknown> | null;
  } | null;
  /** the subscriber's quiet hours, else the tenant's */
  quietHours: QuietHours | null;
  /** the digest this delivery sends, if it is a digest's */
  digestId: string | null;
  endpoint: {
    url: string;
    secret: string;
    active: boolean;
    disabledReason: string | null;
    failures: number;
    /** the event types it subscribes to by name (none: only what a rule's webhook channel sends it) */
    eventTypes: string[];
  } | null;
}

// One round trip for what every delivery of a batch needs: its event, the subscriber (or the webhook
// endpoint), the event type's current rule, the tenant's limits and sender, the digest it sends.
const LOAD = `
SELECT d.id, e.type, e.data, e.status, e.created_at AS "createdAt", e.correlation_id AS "correlationId",
  r.channels, COALESCE(r.critical, false) AS critical,
  t.rate_limits AS "tenantRateLimits", t.sms_from AS "smsFrom", t.revoked_at IS NOT NULL AS "tenantRevoked",
  s.id IS NOT NULL AS "hasSubscriber", s.email, s.phone, s.locale, s.timezone, s.data AS "subscriberData",
  COALESCE(s.quiet_hours, t.quiet_hours) AS "quietHours", g.id AS "digestId",
  w.url AS "endpointUrl", w.secret AS "endpointSecret", w.active AS "endpointActive",
  w.disabled_reason AS "endpointDisabledReason", w.consecutive_failures AS "endpointFailures",
  w.event_types AS "endpointEventTypes"
FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[]) AS d(id, event_id, subscriber_id, endpoint_id)
JOIN events e ON e.id = d.event_id AND ${filterOnly('e.tenant_id', '$1')}
JOIN tenants t ON t.id = e.tenant_id
LEFT JOIN rules r ON r.tenant_id = e.tenant_id AND r.event_type = e.type
LEFT JOIN subscribers s ON s.tenant_id = e.tenant_id AND s.subscriber_id = d.subscriber_id
LEFT JOIN webhook_endpoints w ON w.tenant_id = e.tenant_id AND w.id = d.endpoint_id
LEFT JOIN digests g ON g.delivery_id = d.id`;

// The live suppressions among these addresses of the tenant, one query for a batch.
const SUPPRESSIONS = `
SELECT s.channel, s.address, s.reason, s.source FROM suppressions s
JOIN unnest($2::text[], $3::text[]) AS a(channel, address) ON s.channel = a.channel AND s.address = a.address
WHERE s.tenant_id = $1 AND (s.expires_at IS NULL OR s.expires_at > now())`;

// The active push tokens of these subscribers, oldest device first.
const DEVICES = `
SELECT subscriber_id AS "subscriberId", token FROM devices
WHERE tenant_id = $1 AND subscriber_id = ANY($2::text[]) AND active
ORDER BY created_at`;

export interface SuppressionHit {
  reason: string;
  source: string;
}

/** Reads for a batch of claimed deliveries: context, suppressions, push tokens (one query each). */
@Injectable()
export class DeliveryContextRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** By delivery id; a delivery whose event is gone has no entry. */
  async load(tenantId: string, deliveries: ClaimedDelivery[]): Promise<Map<string, DeliveryRow>> {
    if (!deliveries.length) return new Map();
    const { rows } = await this.pool.query({
      name: 'delivery-context',
      text: LOAD,
      values: [
        tenantId,
        deliveries.map((d) => d.id),
        deliveries.map((d) => d.eventId),
        deliveries.map((d) => d.subscriberId),
        deliveries.map((d) => d.endpointId),
      ],
    });
    return new Map(
      rows.map((row) => [
        row.id as string,
        {
          id: row.id,
          event: {
            type: row.type,
            data: row.data ?? {},
            status: row.status,
            createdAt: row.createdAt,
            correlationId: row.correlationId ?? null,
          },
          channels: row.channels ?? null,
          critical: row.critical,
          tenant: { rateLimits: row.tenantRateLimits ?? {}, smsFrom: row.smsFrom ?? null, revoked: row.tenantRevoked },
          subscriber: row.hasSubscriber
            ? {
                email: row.email ?? null,
                phone: row.phone ?? null,
                locale: row.locale ?? null,
                timezone: row.timezone ?? null,
                data: row.subscriberData ?? null,
              }
            : null,
          quietHours: row.quietHours ?? null,
          digestId: row.digestId ?? null,
          endpoint: row.endpointUrl
            ? {
                url: row.endpointUrl,
                secret: row.endpointSecret,
                active: row.endpointActive,
                disabledReason: row.endpointDisabledReason,
                failures: row.endpointFailures,
                eventTypes: row.endpointEventTypes,
              }
            : null,
        } satisfies DeliveryRow,
      ]),
    );
  }

  /** The live suppression of each address that has one, keyed `channel + NUL + normalized address`. */
  async suppressions(
    tenantId: string,
    addresses: { channel: SuppressibleChannel; address: string }[],
  ): Promise<Map<string, SuppressionHit>> {
    const normalized = addresses.flatMap(({ channel, address }) => {
      const n = normalizeAddress(channel, address);
      return n ? [{ channel, address: n }] : [];
    });
    if (!normalized.length) return new Map();
    const { rows } = await this.pool.query<{ channel: string; address: string } & SuppressionHit>(SUPPRESSIONS, [
      tenantId,
      normalized.map((a) => a.channel),
      normalized.map((a) => a.address),
    ]);
    return new Map(rows.map((r) => [suppressionKey(r.channel, r.address), { reason: r.reason, source: r.source }]));
  }

  /** Active push tokens by subscriber id. */
  async activeTokens(tenantId: string, subscriberIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (!subscriberIds.length) return out;
    const { rows } = await this.pool.query<{ subscriberId: string; token: string }>(DEVICES, [tenantId, subscriberIds]);
    for (const { subscriberId, token } of rows) out.set(subscriberId, [...(out.get(subscriberId) ?? []), token]);
    return out;
  }
}

/** How suppressions() keys an address: look one up with the normalized address. */
export function suppressionKey(channel: string, normalizedAddress: string): string {
  return `${channel}\u0000${normalizedAddress}`;
}
