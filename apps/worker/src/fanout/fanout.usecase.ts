import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SpanKind, type Span } from '@opentelemetry/api';
import type { Pool } from 'pg';
import { contextOf, inSpan, traceParentOf } from '@herald/config';
import { deliveryId, type Channel, type ChannelRule } from '@herald/core';
import { PG_POOL } from '@herald/db';
import { deliveryQueuesOf, enqueueDeliveries, type JobOf, type QueueName } from '@herald/queue';
import { loadOptOuts, type RuleRouting } from './opt-outs';

// Inline subscriber fields from the event upsert the subscriber; given fields win, absent ones
// keep what is stored. Rows that would not change are not rewritten.
const UPSERT_SUBSCRIBERS = `
INSERT INTO subscribers (id, tenant_id, subscriber_id, email, phone, locale, timezone)
SELECT gen_random_uuid(), e.tenant_id, r."subscriberId", r.email, r.phone, r.locale, r.timezone
FROM events e, jsonb_to_recordset(e.recipients) AS r("subscriberId" text, email text, phone text, locale text, timezone text)
WHERE e.id = $1
ON CONFLICT (tenant_id, subscriber_id) DO UPDATE SET
  email = COALESCE(EXCLUDED.email, subscribers.email),
  phone = COALESCE(EXCLUDED.phone, subscribers.phone),
  locale = COALESCE(EXCLUDED.locale, subscribers.locale),
  timezone = COALESCE(EXCLUDED.timezone, subscribers.timezone),
  updated_at = now()
WHERE (subscribers.email, subscribers.phone, subscribers.locale, subscribers.timezone) IS DISTINCT FROM
  (COALESCE(EXCLUDED.email, subscribers.email), COALESCE(EXCLUDED.phone, subscribers.phone),
   COALESCE(EXCLUDED.locale, subscribers.locale), COALESCE(EXCLUDED.timezone, subscribers.timezone))`;

// Inline push tokens register (or re-activate) the subscriber's devices.
const UPSERT_DEVICES = `
INSERT INTO devices (id, tenant_id, subscriber_id, token, platform)
SELECT gen_random_uuid(), e.tenant_id, r."subscriberId", t.token, t.platform
FROM events e,
  jsonb_to_recordset(e.recipients) AS r("subscriberId" text, "pushTokens" jsonb),
  jsonb_to_recordset(COALESCE(r."pushTokens", '[]')) AS t(token text, platform text)
WHERE e.id = $1
ON CONFLICT (tenant_id, token) DO UPDATE SET
  subscriber_id = EXCLUDED.subscriber_id, platform = EXCLUDED.platform,
  active = true, deactivated_reason = NULL, deactivated_at = NULL, updated_at = now()
WHERE (devices.subscriber_id, devices.platform, devices.active) IS DISTINCT FROM (EXCLUDED.subscriber_id, EXCLUDED.platform, true)`;

// Webhook deliveries go once per matching active endpoint of the tenant, not per recipient.
const MATCHING_ENDPOINTS = `
SELECT id FROM webhook_endpoints
WHERE tenant_id = $1 AND active AND (cardinality(event_types) = 0 OR $2 = ANY(event_types))`;

// A recipient who opted out of the channel gets a delivery too, `skipped` with the reason, so
// "why did Alice not get it?" is answered on the event.
const INSERT_DELIVERIES = `
INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, endpoint_id, channel, status, last_error)
SELECT id, $2, $3, subscriber_id, endpoint_id, channel, status, last_error
FROM unnest($1::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[])
  AS d(id, subscriber_id, endpoint_id, channel, status, last_error)
ON CONFLICT (id) DO NOTHING`;

// Everything of this event not yet handed to a channel queue, including deliveries left
// behind by a fan-out that crashed after inserting them.
const UNQUEUED = `SELECT id, channel FROM deliveries WHERE event_id = $1 AND status = 'pending'`;
const MARK_QUEUED = `UPDATE deliveries SET status = 'queued', updated_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'`;

export type FanoutResult =
  { status: 'routed'; deliveries: number } | { status: 'unrouted' } | { status: 'skipped'; reason: string };

/**
 * Fan-out: one event → one delivery per recipient × channel of its rule, each enqueued on its
 * channel's queue — or inserted `skipped` when the recipient's preferences opt them out (never
 * for a critical rule). Safe to run any number of times for the same event: delivery ids are
 * deterministic, inserts ignore conflicts, and queue jobIds are the delivery ids.
 */
@Injectable()
export class FanoutUseCase {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
  ) {}

  /** In a `herald.fanout` span, a child of the relay's; each delivery job carries this span's traceparent. */
  run(job: JobOf<typeof QueueName.Fanout>): Promise<FanoutResult> {
    const attributes = { 'herald.event_id': job.eventId, 'herald.tenant_id': job.tenantId };
    return inSpan(
      'herald.fanout',
      { parent: contextOf(job.traceParent), kind: SpanKind.CONSUMER, attributes },
      async (span) => {
        const result = await this.fanOut(job, span);
        span.setAttributes({
          'herald.fanout.status': result.status,
          ...(result.status === 'routed' ? { 'herald.deliveries': result.deliveries } : {}),
        });
        return result;
      },
    );
  }

  private async fanOut({ eventId, tenantId }: JobOf<typeof QueueName.Fanout>, span: Span): Promise<FanoutResult> {
    const event = await this.pool.query<{ type: string; recipients: { subscriberId: string }[]; status: string }>(
      'SELECT type, recipients, status FROM events WHERE id = $1 AND tenant_id = $2',
      [eventId, tenantId],
    );
    if (event.rowCount === 0) return { status: 'skipped', reason: 'event not found' };
    const { type, recipients, status } = event.rows[0];
    if (status === 'unrouted') return { status: 'unrouted' };

    await this.pool.query(UPSERT_SUBSCRIBERS, [eventId]);
    await this.pool.query(UPSERT_DEVICES, [eventId]);
    const rule = await this.pool.query<{ channels: ChannelRule[] } & RuleRouting>(
      'SELECT channels, category, critical FROM rules WHERE tenant_id = $1 AND event_type = $2',
      [tenantId, type],
    );
    if (status === 'accepted' && rule.rowCount === 0) {
      await this.setStatus(eventId, 'unrouted');
      return { status: 'unrouted' };
    }

    if (status === 'accepted' && rule.rows[0]) {
      const { channels, category, critical } = rule.rows[0];
      const planned = await this.plannedDeliveries(
        eventId,
        tenantId,
        type,
        recipients,
        channels.map((c) => c.channel),
      );
      const optOut = await loadOptOuts(
        this.pool,
        tenantId,
        recipients.map((r) => r.subscriberId),
        { category, critical },
      );
      const rows = planned.map((r) => {
        const reason = r.subscriberId === null ? null : optOut(r.subscriberId, r.channel);
        return { ...r, status: reason ? 'skipped' : 'pending', lastError: reason };
      });
      await this.pool.query(INSERT_DELIVERIES, [
        rows.map((r) => r.id),
        tenantId,
        eventId,
        rows.map((r) => r.subscriberId),
        rows.map((r) => r.endpointId),
        rows.map((r) => r.channel),
        rows.map((r) => r.status),
        rows.map((r) => r.lastError),
      ]);
    }
    const queued = await this.enqueuePending(eventId, tenantId, traceParentOf(span));
    if (status === 'accepted') await this.setStatus(eventId, 'routed');
    return { status: 'routed', deliveries: queued };
  }

  /** One delivery per recipient × subscriber channel, plus one per matching endpoint for webhooks. */
  private async plannedDeliveries(
    eventId: string,
    tenantId: string,
    type: string,
    recipients: { subscriberId: string }[],
    channels: Channel[],
  ) {
    const rows: { id: string; subscriberId: string | null; endpointId: string | null; channel: Channel }[] = [];
    for (const channel of channels) {
      if (channel === 'webhook') {
        const endpoints = await this.pool.query<{ id: string }>(MATCHING_ENDPOINTS, [tenantId, type]);
        for (const { id } of endpoints.rows) {
          rows.push({
            id: deliveryId(eventId, `endpoint:${id}`, channel),
            subscriberId: null,
            endpointId: id,
            channel,
          });
        }
      } else {
        for (const r of recipients) {
          rows.push({
            id: deliveryId(eventId, r.subscriberId, channel),
            subscriberId: r.subscriberId,
            endpointId: null,
            channel,
          });
        }
      }
    }
    return rows;
  }

  private async enqueuePending(eventId: string, tenantId: string, traceParent?: string): Promise<number> {
    const { rows } = await this.pool.query<{ id: string; channel: Channel }>(UNQUEUED, [eventId]);
    await enqueueDeliveries(
      deliveryQueuesOf(this.moduleRef),
      rows.map((row) => ({ ...row, tenantId })),
      traceParent,
    );
    if (rows.length) await this.pool.query(MARK_QUEUED, [rows.map((r) => r.id)]);
    return rows.length;
  }

  private async setStatus(eventId: string, status: string): Promise<void> {
    await this.pool.query('UPDATE events SET status = $2, updated_at = now() WHERE id = $1 AND status = $3', [
      eventId,
      status,
      'accepted',
    ]);
  }
}
