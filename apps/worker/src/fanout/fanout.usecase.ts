import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { Queue } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { contextOf, traceParentOf, tracer } from '@herald/observability';
import { deliveryId, deterministicUuid, isTopicRef, type Recipient } from '@herald/core';
import {
  DeliveriesRepository,
  DigestsRepository,
  FanoutRepository,
  type FanoutEvent,
  type FanoutRule,
  type PendingDelivery,
  type PlannedDelivery,
} from '@herald/db';
import { QueueName, QueueRegistry, enqueueDeliveryBatches, ensureJob, type FanoutJob, type Lane } from '@herald/queue';
import { collectDigests } from '../digest/collect-digests';
import { optOutCheck, type OptOutCheck } from './opt-outs';

/** What became of each event of a fan-out job. */
export type EventOutcome = 'routed' | 'batched' | 'unrouted' | `skipped: ${string}`;

export interface FanoutResult {
  /** deliveries handed to the channel queues by this job */
  deliveries: number;
  events: Record<string, EventOutcome>;
}

/**
 * Fan-out: events → one delivery per recipient × channel of their rule, handed to the channel queues in
 * batches — or inserted `skipped` when the recipient's preferences opt them out (never for a critical
 * rule). A job carries many events of one tenant (the relay's batch): their recipients, preferences and
 * deliveries are read and written a statement for the whole batch. An event sent to topics goes on in
 * batches of FANOUT_BATCH_SIZE members, one job each, chained, in the bulk lane: memory stays the same for
 * any audience, and the event stays `accepted` until the last batch, with its progress (`fanout_cursor`)
 * in Postgres, so a lost or crashed batch resumes where the last one ended. Safe to run any number of
 * times: delivery ids are deterministic, inserts ignore conflicts, and queue jobIds follow from their content.
 */
@Injectable()
export class FanoutUseCase {
  private readonly logger = new Logger('fanout');

  constructor(
    private readonly events: FanoutRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly digests: DigestsRepository,
    private readonly queues: QueueRegistry,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @InjectQueue(QueueName.Fanout) private readonly fanoutQueue: Queue<FanoutJob>,
  ) {}

  async run(job: FanoutJob): Promise<FanoutResult> {
    const { tenantId } = job;
    const found = await this.events.events(tenantId, job.eventIds);
    // One `herald.fanout` span per event, a child of its relay's (each delivery's span is a child of it).
    const spans = new Map(
      found.events.map((event) => [
        event.id,
        tracer().startSpan(
          'herald.fanout',
          {
            kind: SpanKind.CONSUMER,
            attributes: {
              'herald.event_id': event.id,
              'herald.tenant_id': tenantId,
              ...(job.membersAfter === undefined ? {} : { 'herald.fanout.members_after': job.membersAfter }),
              ...(event.correlationId ? { 'herald.correlation_id': event.correlationId } : {}),
            },
          },
          contextOf(job.traceParents?.[event.id]),
        ),
      ]),
    );
    try {
      const result =
        job.membersAfter === undefined
          ? await this.fanOut(tenantId, job.eventIds, found, spans)
          : await this.fanOutMembers(tenantId, found.events[0], job.membersAfter, spans);
      for (const event of found.events) {
        const outcome = result.events[event.id];
        this.logger.debug({ eventId: event.id, correlationId: event.correlationId, outcome }, 'fan-out');
      }
      return result;
    } catch (err) {
      spans.forEach((span) => span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message }));
      throw err;
    } finally {
      spans.forEach((span) => span.end());
    }
  }

  /** The events' own step: inline recipients and webhook endpoints, then the first batch of their topics. */
  private async fanOut(
    tenantId: string,
    asked: string[],
    { events, tenantRevoked }: Awaited<ReturnType<FanoutRepository['events']>>,
    spans: Map<string, Span>,
  ): Promise<FanoutResult> {
    const outcomes: Record<string, EventOutcome> = Object.fromEntries(
      asked.map((id) => [id, 'skipped: event not found' as EventOutcome]),
    );
    if (tenantRevoked) {
      // A suspended tenant sends nothing more (DELETE /v1/tenants/:id).
      await this.events.setStatus(
        tenantId,
        events.map((e) => e.id),
        'cancelled',
      );
      for (const e of events) outcomes[e.id] = 'skipped: tenant revoked';
      return { deliveries: 0, events: outcomes };
    }
    // An event is `routed` once every delivery of it was handed on: a redelivered job has nothing to add.
    const accepted = events.filter((e) => e.status === 'accepted');
    for (const e of events)
      if (e.status !== 'accepted') outcomes[e.id] = e.status === 'routed' ? 'routed' : `skipped: event ${e.status}`;
    if (!accepted.length) return { deliveries: 0, events: outcomes };

    await this.events.upsertRecipients(
      tenantId,
      accepted.map((e) => e.id),
    );
    // No rule and no endpoint naming the type: nothing to send. Endpoints that name it get it rule or not.
    const unrouted = accepted.filter((e) => !e.rule && !e.endpoints.length);
    await this.events.setStatus(
      tenantId,
      unrouted.map((e) => e.id),
      'unrouted',
    );
    for (const e of unrouted) outcomes[e.id] = 'unrouted';

    const routable = accepted.filter((e) => e.rule || e.endpoints.length);
    const ruled = routable.filter((e): e is FanoutEvent & { rule: FanoutRule } => e.rule !== null);
    const direct = new Map(ruled.map((e) => [e.id, directRecipients(e)]));
    const preferences = ruled.some((e) => !e.rule.critical)
      ? await this.events.preferences(tenantId, [...new Set([...direct.values()].flat())])
      : { defaults: {}, bySubscriber: new Map() };
    const planned: PlannedDelivery[] = [];
    for (const event of routable) {
      planned.push(...endpointDeliveries(event.id, event.endpoints));
      if (!event.rule) continue;
      const rows = plan(event.id, event.rule, direct.get(event.id)!, optOutCheck(preferences, event.rule));
      planned.push(...(await this.digested(tenantId, event, rows)));
    }
    const pending = await this.deliveries.insertPlanned(tenantId, planned);
    // Members are the rule's recipients: an event without a rule reaches its endpoints and ends there.
    const withTopics = ruled.filter((e) => e.recipients.some(isTopicRef));
    const broadcasting = new Set(withTopics.map((e) => e.id));
    // without topics an event's fan-out ends here: `routed` in the same statement as its deliveries' `queued`
    const routed = routable.filter((e) => !broadcasting.has(e.id)).map((e) => e.id);
    const lanes = new Map(events.map((e) => [e.id, laneOf(e.rule, false)]));
    await this.handOn(tenantId, pending, lanes, spans, routed);
    for (const event of withTopics) {
      await this.enqueueMembers(tenantId, event.id, event.fanoutCursor ?? '', traceParentOf(spans.get(event.id)));
    }
    const counts = countByEvent(pending);
    for (const e of routable) {
      outcomes[e.id] = broadcasting.has(e.id) ? 'batched' : 'routed';
      spans
        .get(e.id)
        ?.setAttributes({ 'herald.fanout.status': outcomes[e.id], 'herald.deliveries': counts.get(e.id) ?? 0 });
    }
    return { deliveries: pending.length, events: outcomes };
  }

  /** One batch of a topic event's members; enqueues the next batch, or ends the fan-out (`routed`). */
  private async fanOutMembers(
    tenantId: string,
    event: FanoutEvent | undefined,
    membersAfter: string,
    spans: Map<string, Span>,
  ): Promise<FanoutResult> {
    // routed: a later batch already ended it; cancelled, unrouted or gone: nothing more to send
    if (!event || event.status !== 'accepted') return { deliveries: 0, events: {} };
    const { rule } = event;
    const topics = event.recipients.filter(isTopicRef).map((t) => t.topic);
    const batchSize = this.config.fanout.batchSize;
    const members = rule ? await this.events.nextMembers(tenantId, topics, membersAfter, batchSize) : [];
    let pending: PendingDelivery[] = [];
    if (rule && members.length) {
      const optOut = optOutCheck(
        rule.critical ? { defaults: {}, bySubscriber: new Map() } : await this.events.preferences(tenantId, members),
        rule,
      );
      const rows = await this.digested(tenantId, event, plan(event.id, rule, members, optOut));
      pending = await this.deliveries.insertPlanned(tenantId, rows);
    }
    const done = members.length < batchSize;
    await this.handOn(tenantId, pending, new Map([[event.id, laneOf(rule, true)]]), spans, done ? [event.id] : []);
    const span = spans.get(event.id);
    span?.setAttributes({ 'herald.fanout.status': done ? 'routed' : 'batched', 'herald.deliveries': pending.length });
    if (done) return { deliveries: pending.length, events: { [event.id]: 'routed' } };
    const last = members[members.length - 1]!;
    await this.events.advanceCursor(tenantId, event.id, last);
    await this.enqueueMembers(tenantId, event.id, last, traceParentOf(span));
    return { deliveries: pending.length, events: { [event.id]: 'batched' } };
  }

  /**
   * Hands the `queued` deliveries to their channel queues in batches, then marks the events whose fan-out
   * is done `routed` — a crash between the two leaves the events `accepted`, and the job's rerun (or the
   * sweep's) hands their deliveries on again; the batches' job ids follow from their deliveries, and a
   * delivery's claim absorbs a job that runs twice.
   */
  private async handOn(
    tenantId: string,
    pending: PendingDelivery[],
    lanes: Map<string, Lane>,
    spans: Map<string, Span>,
    routed: string[],
  ): Promise<void> {
    if (pending.length) {
      const items = pending.map((d) => ({
        id: d.id,
        tenantId,
        channel: d.channel,
        lane: lanes.get(d.eventId) ?? 'normal',
        traceParent: traceParentOf(spans.get(d.eventId)),
      }));
      await enqueueDeliveryBatches(this.queues.deliveryQueues, items, this.config.deliveryJobSize);
    }
    await this.events.setStatus(tenantId, routed, 'routed');
  }

  /** Digested channels: the event joins the subscriber's open digest instead of being sent now. */
  private digested(
    tenantId: string,
    event: Pick<FanoutEvent, 'id' | 'type' | 'rule'>,
    rows: PlannedDelivery[],
  ): Promise<PlannedDelivery[]> {
    if (!event.rule?.channels.some((c) => c.digest)) return Promise.resolve(rows);
    const about = { id: event.id, tenantId, type: event.type };
    return collectDigests(this.digests, this.queues.deliveryQueues, about, event.rule.channels, rows);
  }

  /**
   * The batch after `after` has its own jobId, so re-adding it while it waits or runs does nothing; one
   * that ended `failed` (its attempts spent during an outage) is replaced, or the sweep's re-run of the
   * event's step could never get the broadcast going again. In the bulk lane: other fan-outs go first.
   */
  private async enqueueMembers(tenantId: string, eventId: string, after: string, traceParent?: string): Promise<void> {
    const data: FanoutJob = {
      tenantId,
      eventIds: [eventId],
      membersAfter: after,
      ...(traceParent ? { traceParents: { [eventId]: traceParent } } : {}),
    };
    const jobId = deterministicUuid('fanout-batch', eventId, after);
    await ensureJob(this.fanoutQueue, QueueName.Fanout, jobId, data, 0, { priority: 1 });
  }
}

/** The lane an event's deliveries take (libs/queue delivery-jobs.ts): critical rules first, broadcasts last. */
function laneOf(rule: FanoutRule | null, broadcast: boolean): Lane {
  if (rule?.critical) return 'critical';
  return broadcast ? 'bulk' : 'normal';
}

function directRecipients(event: FanoutEvent): string[] {
  return event.recipients.filter((r): r is Recipient => !isTopicRef(r)).map((r) => r.subscriberId);
}

function countByEvent(pending: PendingDelivery[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const d of pending) counts.set(d.eventId, (counts.get(d.eventId) ?? 0) + 1);
  return counts;
}

/** One webhook delivery per endpoint taking the event (the fan-out's read chose them), whatever its recipients. */
function endpointDeliveries(eventId: string, endpointIds: string[]): PlannedDelivery[] {
  return endpointIds.map((id) => ({
    id: deliveryId(eventId, `endpoint:${id}`, 'webhook'),
    eventId,
    subscriberId: null,
    endpointId: id,
    channel: 'webhook',
    status: 'queued',
    lastError: null,
  }));
}

/**
 * One delivery per subscriber × subscriber channel of the rule, each `skipped` with the reason when the
 * subscriber opted out of its channel. (The rule's webhook channel goes to endpoints: endpointDeliveries.)
 */
function plan(eventId: string, rule: FanoutRule, subscriberIds: string[], optOut: OptOutCheck): PlannedDelivery[] {
  const rows: PlannedDelivery[] = [];
  for (const { channel } of rule.channels) {
    if (channel === 'webhook') continue;
    for (const subscriberId of subscriberIds) {
      const reason = optOut(subscriberId, channel);
      rows.push({
        id: deliveryId(eventId, subscriberId, channel),
        eventId,
        subscriberId,
        endpointId: null,
        channel,
        status: reason ? 'skipped' : 'queued',
        lastError: reason,
      });
    }
  }
  return rows;
}
