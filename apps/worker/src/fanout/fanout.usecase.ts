import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SpanKind, type Span } from '@opentelemetry/api';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { HERALD_CONFIG, contextOf, inSpan, traceParentOf, type HeraldConfig } from '@herald/config';
import {
  deliveryId,
  deterministicUuid,
  isTopicRef,
  type Addressee,
  type ChannelRule,
  type Recipient,
} from '@herald/core';
import { PG_POOL } from '@herald/db';
import { QueueName, deliveryQueuesOf, ensureJob, type FanoutJob } from '@herald/queue';
import { collectDigests } from '../digest/collect-digests';
import { enqueuePending, insertDeliveries, type PendingDelivery, type PlannedDelivery } from './delivery-rows';
import { loadOptOuts, type OptOutCheck, type RuleRouting } from './opt-outs';
import { nextMembers } from './topic-members';

// Inline subscriber fields from the event upsert the subscriber; given fields win, absent ones
// keep what is stored. Rows that would not change are not rewritten. Topic entries have no subscriberId.
const UPSERT_SUBSCRIBERS = `
INSERT INTO subscribers (id, tenant_id, subscriber_id, email, phone, locale, timezone)
SELECT gen_random_uuid(), e.tenant_id, r."subscriberId", r.email, r.phone, r.locale, r.timezone
FROM events e, jsonb_to_recordset(e.recipients) AS r("subscriberId" text, email text, phone text, locale text, timezone text)
WHERE e.id = $1 AND r."subscriberId" IS NOT NULL
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

// Both upserts in one statement: one round trip on the fan-out's hot path (devices has no
// foreign key to subscribers, so neither CTE needs to see the other's rows).
const UPSERT_RECIPIENTS = `WITH subscribers_upserted AS (${UPSERT_SUBSCRIBERS}), devices_upserted AS (${UPSERT_DEVICES}) SELECT 1`;

// The event, its rule and (for a rule with a webhook channel) the tenant's matching active
// endpoints, in one read. Webhook deliveries go once per endpoint, not per recipient.
const EVENT_AND_RULE = `
SELECT e.type, e.recipients, e.status, e.fanout_cursor AS "fanoutCursor", e.correlation_id AS "correlationId",
  r.channels, r.category, r.critical,
  ARRAY(SELECT w.id FROM webhook_endpoints w
        WHERE w.tenant_id = e.tenant_id AND w.active AND (cardinality(w.event_types) = 0 OR e.type = ANY(w.event_types))
        ORDER BY w.id) AS endpoints
FROM events e LEFT JOIN rules r ON r.tenant_id = e.tenant_id AND r.event_type = e.type
WHERE e.id = $1 AND e.tenant_id = $2`;

// Everything of this event not yet handed to a channel queue, when its fan-out runs again after
// routing it: deliveries left behind by a run that crashed after inserting them.
const UNQUEUED = `SELECT id, channel FROM deliveries WHERE event_id = $1 AND status = 'pending'`;
const ADVANCE_CURSOR = `
UPDATE events SET fanout_cursor = $2, updated_at = now()
WHERE id = $1 AND (fanout_cursor IS NULL OR fanout_cursor < $2)`;

interface EventRow {
  type: string;
  recipients: Addressee[];
  status: string;
  fanoutCursor: string | null;
  correlationId: string | null;
  /** null when no rule exists for the event's type */
  rule: RuleRow | null;
  /** ids of the tenant's active endpoints taking the event's type */
  endpoints: string[];
}

type RuleRow = { channels: ChannelRule[] } & RuleRouting;

export type FanoutResult =
  | { status: 'routed'; deliveries: number }
  | { status: 'batched'; deliveries: number; next?: string }
  | { status: 'unrouted' }
  | { status: 'skipped'; reason: string };

/**
 * Fan-out: one event → one delivery per recipient × channel of its rule, each enqueued on its
 * channel's queue — or inserted `skipped` when the recipient's preferences opt them out (never
 * for a critical rule). An event sent to topics goes on in batches of FANOUT_BATCH_SIZE members, one
 * job each, chained: memory stays the same for any audience, and the event stays `accepted` until
 * the last batch, with its progress (`fanout_cursor`) in Postgres, so a lost or crashed batch resumes
 * where the last one ended. Safe to run any number of times: delivery ids are deterministic,
 * inserts ignore conflicts, and queue jobIds are the delivery ids (a batch's, its event and cursor).
 */
@Injectable()
export class FanoutUseCase {
  private readonly logger = new Logger('fanout');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @InjectQueue(QueueName.Fanout) private readonly fanoutQueue: Queue<FanoutJob>,
  ) {}

  /** In a `herald.fanout` span, a child of the relay's; each delivery job carries this span's traceparent. */
  run(job: FanoutJob): Promise<FanoutResult> {
    const attributes = {
      'herald.event_id': job.eventId,
      'herald.tenant_id': job.tenantId,
      ...(job.membersAfter === undefined ? {} : { 'herald.fanout.members_after': job.membersAfter }),
    };
    return inSpan(
      'herald.fanout',
      { parent: contextOf(job.traceParent), kind: SpanKind.CONSUMER, attributes },
      async (span) => {
        const event = await this.event(job.eventId, job.tenantId);
        const result =
          job.membersAfter === undefined
            ? await this.fanOut(job, event, span)
            : await this.fanOutMembers(job, event, span);
        span.setAttributes({
          'herald.fanout.status': result.status,
          ...('deliveries' in result ? { 'herald.deliveries': result.deliveries } : {}),
          ...(event?.correlationId ? { 'herald.correlation_id': event.correlationId } : {}),
        });
        this.logger.debug({ eventId: job.eventId, correlationId: event?.correlationId, ...result }, 'fan-out');
        return result;
      },
    );
  }

  /** The event's own step: inline recipients and webhook endpoints, then the first batch of its topics. */
  private async fanOut(
    { eventId, tenantId }: FanoutJob,
    event: EventRow | undefined,
    span: Span,
  ): Promise<FanoutResult> {
    if (!event) return { status: 'skipped', reason: 'event not found' };
    const { type, recipients, status, rule } = event;
    if (status === 'unrouted') return { status: 'unrouted' };
    if (status === 'cancelled') return { status: 'skipped', reason: 'event cancelled' };

    await this.pool.query({ name: 'fanout-upsert-recipients', text: UPSERT_RECIPIENTS, values: [eventId] });
    if (status !== 'accepted') {
      // routed before: this run only hands on what a crashed run left `pending`
      const { rows } = await this.pool.query<PendingDelivery>(UNQUEUED, [eventId]);
      const queued = await enqueuePending(this.pool, this.queues(), tenantId, rows, traceParentOf(span), null);
      return { status: 'routed', deliveries: queued };
    }
    if (!rule) {
      await this.setStatus(eventId, 'unrouted');
      return { status: 'unrouted' };
    }

    const topics = recipients.filter(isTopicRef).map((t) => t.topic);
    const direct = recipients.filter((r): r is Recipient => !isTopicRef(r)).map((r) => r.subscriberId);
    const endpoints = rule.channels.some((c) => c.channel === 'webhook') ? event.endpoints : [];
    const optOut = await loadOptOuts(this.pool, tenantId, direct, rule);
    const planned = plan(eventId, rule, direct, endpoints, optOut);
    const about = { id: eventId, tenantId, type };
    const rows = await collectDigests(this.pool, this.queues(), about, rule.channels, planned);
    const pending = await insertDeliveries(this.pool, tenantId, eventId, rows, true);
    // without topics the fan-out ends here: the event is `routed` in the same statement
    const routed = topics.length === 0 ? eventId : null;
    const queued = await enqueuePending(this.pool, this.queues(), tenantId, pending, traceParentOf(span), routed);
    if (routed) return { status: 'routed', deliveries: queued };
    const next = event.fanoutCursor ?? '';
    await this.enqueueBatch(eventId, tenantId, next, traceParentOf(span));
    return { status: 'batched', deliveries: queued, next };
  }

  /** One batch of the event's topic members; enqueues the next batch, or ends the fan-out (`routed`). */
  private async fanOutMembers(
    { eventId, tenantId, membersAfter = '' }: FanoutJob,
    event: EventRow | undefined,
    span: Span,
  ): Promise<FanoutResult> {
    // routed: a later batch already ended it; cancelled, unrouted or gone: nothing more to send
    if (!event || event.status !== 'accepted') {
      return { status: 'skipped', reason: `event is ${event?.status ?? 'gone'}` };
    }
    const { rule } = event;
    const topics = event.recipients.filter(isTopicRef).map((t) => t.topic);
    const batchSize = this.config.fanout.batchSize;
    const members = rule ? await nextMembers(this.pool, tenantId, topics, membersAfter, batchSize) : [];

    let queued = 0;
    if (rule && members.length) {
      const optOut = await loadOptOuts(this.pool, tenantId, members, rule);
      const planned = plan(eventId, rule, members, [], optOut);
      const about = { id: eventId, tenantId, type: event.type };
      const rows = await collectDigests(this.pool, this.queues(), about, rule.channels, planned);
      const pending = await insertDeliveries(this.pool, tenantId, eventId, rows, false);
      queued = await enqueuePending(this.pool, this.queues(), tenantId, pending, traceParentOf(span), null);
    }
    if (members.length < batchSize) {
      await this.setStatus(eventId, 'routed');
      return { status: 'routed', deliveries: queued };
    }
    const last = members[members.length - 1];
    await this.pool.query(ADVANCE_CURSOR, [eventId, last]);
    await this.enqueueBatch(eventId, tenantId, last, traceParentOf(span));
    return { status: 'batched', deliveries: queued, next: last };
  }

  /**
   * The batch after `after` has its own jobId, so re-adding it while it waits or runs does nothing;
   * one that ended `failed` (its attempts spent during an outage) is replaced, or the sweep's re-run
   * of the event's step could never get the broadcast going again.
   */
  private async enqueueBatch(eventId: string, tenantId: string, after: string, traceParent?: string): Promise<void> {
    const data: FanoutJob = { eventId, tenantId, membersAfter: after, ...(traceParent ? { traceParent } : {}) };
    await ensureJob(this.fanoutQueue, QueueName.Fanout, deterministicUuid('fanout-batch', eventId, after), data);
  }

  private async event(eventId: string, tenantId: string): Promise<EventRow | undefined> {
    const { rows } = await this.pool.query<Omit<EventRow, 'rule'> & Partial<RuleRow>>({
      name: 'fanout-event-and-rule',
      text: EVENT_AND_RULE,
      values: [eventId, tenantId],
    });
    if (!rows[0]) return undefined;
    const { channels, category = null, critical = false, ...event } = rows[0];
    return { ...event, rule: channels ? { channels, category, critical } : null };
  }

  private queues() {
    return deliveryQueuesOf(this.moduleRef);
  }

  private async setStatus(eventId: string, status: string): Promise<void> {
    await this.pool.query('UPDATE events SET status = $2, updated_at = now() WHERE id = $1 AND status = $3', [
      eventId,
      status,
      'accepted',
    ]);
  }
}

/**
 * One delivery per subscriber × subscriber channel of the rule, plus one per endpoint for webhooks,
 * each `skipped` with the reason when the subscriber opted out of its channel.
 */
function plan(
  eventId: string,
  rule: RuleRow,
  subscriberIds: string[],
  endpointIds: string[],
  optOut: OptOutCheck,
): PlannedDelivery[] {
  const rows: PlannedDelivery[] = [];
  for (const { channel } of rule.channels) {
    if (channel === 'webhook') {
      for (const id of endpointIds) {
        const recipient = `endpoint:${id}`;
        rows.push({
          id: deliveryId(eventId, recipient, channel),
          subscriberId: null,
          endpointId: id,
          channel,
          status: 'pending',
          lastError: null,
        });
      }
      continue;
    }
    for (const subscriberId of subscriberIds) {
      const reason = optOut(subscriberId, channel);
      rows.push({
        id: deliveryId(eventId, subscriberId, channel),
        subscriberId,
        endpointId: null,
        channel,
        status: reason ? 'skipped' : 'pending',
        lastError: reason,
      });
    }
  }
  return rows;
}
