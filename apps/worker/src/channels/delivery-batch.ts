import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { SpanKind, context as otelContext, trace, type Span } from '@opentelemetry/api';
import { DelayedError, type Job } from 'bullmq';
import type { SendResult } from '@herald/channels';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics, contextOf, tracer } from '@herald/observability';
import { Semaphore, quietHoursEnd, type Channel } from '@herald/core';
import {
  DeliveriesRepository,
  DeliveryContextRepository,
  DigestsRepository,
  type ClaimedDelivery,
  type DeliveryEnd,
  type HoldBack,
} from '@herald/db';
import { QueueRegistry, ensureDeliveryJob, type DeliveryJob, type DeliveryRef } from '@herald/queue';
import { flushDigest } from '../digest/flush-digest';
import { DeadLetterCopier } from '../dlq/dead-letter-copier';
import type { ExternalChannel } from './channel-messages';
import { DeliverExternalUseCase } from './deliver-external.usecase';
import { DeliverInappUseCase } from './deliver-inapp.usecase';
import { deliveryContext, type DeliveryContext } from './delivery-context';
import { RateLimitGate } from './rate-limit-gate';

/** How one claim of a batch ended (the channel's use case says, or a gate before it). */
export interface Finished {
  delivery: ClaimedDelivery;
  /** ended with or without an attempt (a hold-back: deferred or dropped by the rate limit) */
  end: DeliveryEnd | HoldBack;
  /** `queued` for a retry: due in this many ms, in a job of its own */
  retryInMs?: number;
  result?: SendResult;
}

type Item = { delivery: ClaimedDelivery; context: DeliveryContext };

/** A delivery that leaves its batch to be looked at again later, in a job of its own. */
interface Later {
  ref: DeliveryRef;
  inMs: number;
}

/** Jobs of one delivery added at once, each its own few Redis commands (ensureJob). */
const LATER_CONCURRENCY = 16;

/**
 * One delivery job, whatever the channel and however many deliveries it carries: claim them all in one
 * statement, read what they need in one more, decide what waits (quiet hours, the subscriber's rate limit —
 * checked for the whole batch in one Redis round trip), hand the rest to the channel, and record the
 * outcomes a statement at a time. A delivery that must wait — a rate-limit window, quiet hours, a retry's
 * backoff, a claim another worker holds — leaves the batch and gets a delayed job of its own; a retry never
 * resends the rest of its batch. The retry budget is counted in Postgres, per delivery, so it survives
 * Redis losing the job. An infrastructure error hands every claim not yet ended back and fails the job, for
 * BullMQ to retry; what was ended stays ended (the claim finds it not claimable).
 */
@Injectable()
export class DeliveryBatchRunner {
  private readonly logger = new Logger('delivery');

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly contexts: DeliveryContextRepository,
    private readonly digests: DigestsRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly queues: QueueRegistry,
    private readonly rateLimits: RateLimitGate,
    private readonly deadLetters: DeadLetterCopier,
    private readonly metrics: HeraldMetrics,
    // Each role brings the use case of its channels only (roles.ts): an in-app worker has no providers.
    @Optional() private readonly inapp?: DeliverInappUseCase,
    @Optional() private readonly external?: DeliverExternalUseCase,
  ) {}

  async run(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const channel = job.queueName.replace(/^deliver\./, '') as Channel;
    const { tenantId, deliveryIds, traceParents = {} } = job.data;
    // In-app is written in one statement per batch, which is its own gate: no lease to take first.
    const claim =
      channel === 'inapp'
        ? await this.deliveries.peek(tenantId, deliveryIds)
        : await this.deliveries.claim(tenantId, deliveryIds, this.config.deliveryLeaseSeconds);
    // Held by a live lease: looked at again when it runs out, in case that worker died.
    const later: Later[] = claim.leased.map(({ id, leaseUntil }) => ({
      ref: { id, tenantId, channel },
      inMs: leaseUntil.getTime() + 100 - Date.now(),
    }));
    // A redelivered job of a dead delivery finishes the copy to the DLQ its first run may have missed.
    await this.deadLetters.copy(claim.settled.filter((s) => s.status === 'dead').map((s) => s.id));

    const finished = claim.claimed.length
      ? await this.deliverClaimed(tenantId, channel, claim.claimed, traceParents, later)
      : [];
    // A job of one delivery that must wait is that delivery's own job (its id): it is moved to the delayed
    // set itself, as adding a job of the same id while this one runs would be a no-op.
    const self = later.length === 1 && job.id === later[0]!.ref.id ? later[0]! : undefined;
    if (self) {
      if (!token) throw new Error('cannot delay a job without its lock token');
      await job.moveToDelayed(Date.now() + Math.max(0, self.inMs), token);
      throw new DelayedError();
    }
    await this.scheduleLater(later);
    // in-app only: peeked, but settled by another worker's write before this one's
    const overtaken = claim.claimed.length - finished.length;
    return summary(finished, claim.settled.length + overtaken, claim.leased.length);
  }

  private async deliverClaimed(
    tenantId: string,
    channel: Channel,
    claimed: ClaimedDelivery[],
    traceParents: Record<string, string>,
    later: Later[],
  ): Promise<Finished[]> {
    const open = new Map(claimed.map((d) => [d.id, d]));
    // One `herald.deliver` span per delivery, a child of its fan-out's.
    const spans = new Map(
      claimed.map((d) => [
        d.id,
        tracer().startSpan(
          'herald.deliver',
          {
            kind: SpanKind.CONSUMER,
            attributes: { 'herald.channel': channel, 'herald.delivery_id': d.id, 'herald.tenant_id': tenantId },
          },
          contextOf(traceParents[d.id]),
        ),
      ]),
    );
    // The batch's leases are renewed while it runs, so a slow provider is not mistaken for a dead worker.
    const renewal = setInterval(
      () => {
        const leased = [...open.values()].filter((d) => d.leased);
        if (!leased.length) return;
        this.deliveries.renewLeases(leased, this.config.deliveryLeaseSeconds).then(
          (held) => {
            for (const d of leased) if (!held.has(d.id)) this.logger.warn(`delivery ${d.id}: lease lost (taken over)`);
          },
          () => undefined, // tried again at the next tick
        );
      },
      (this.config.deliveryLeaseSeconds * 1000) / 3,
    );
    renewal.unref();
    try {
      const rows = await this.contexts.load(tenantId, claimed);
      const items = claimed.map((delivery) => {
        const row = rows.get(delivery.id);
        return { delivery, context: row ? deliveryContext(delivery, row) : null };
      });
      const { send, ended, holds } = await this.gate(items, later);
      await this.deliveries.finish(ended as { delivery: ClaimedDelivery; end: DeliveryEnd }[]);
      await this.deliveries.holdBack(holds);
      for (const { delivery } of [...ended, ...holds]) open.delete(delivery.id);

      const sent = await this.handOff(tenantId, channel, send, spans, open);
      for (const { delivery } of sent) open.delete(delivery.id);
      const finished = [...ended, ...holds.map(asFinished), ...sent];
      for (const f of finished) {
        if (f.end.status === 'queued' && f.retryInMs !== undefined) later.push({ ref: f.delivery, inMs: f.retryInMs });
      }
      await this.deadLetters.copy(finished.filter((f) => f.end.status === 'dead').map((f) => f.delivery.id));
      this.account(channel, finished, items, spans);
      return finished;
    } catch (err) {
      // Infrastructure trouble (database, queue…): hand back what is not ended, for BullMQ's retry of the job.
      await this.deliveries.release([...open.values()]).catch(() => undefined);
      for (const span of spans.values()) span.setAttribute('herald.outcome', 'error');
      throw err;
    } finally {
      clearInterval(renewal);
      spans.forEach((span) => span.end());
    }
  }

  /**
   * What is decided before any provider is asked: nothing to send (the event or its rule gone, cancelled, a
   * digest emptied by cancels, a suspended tenant), quiet hours, and the subscribers' rate limits (one round
   * trip for the batch). Quiet hours come before the rate limit, so a night's wait does not use up the
   * subscriber's window; a digest closes before the rate limit, which may drop its delivery for good and
   * must not strand the digest open.
   */
  private async gate(
    items: { delivery: ClaimedDelivery; context: DeliveryContext | null }[],
    later: Later[],
  ): Promise<{ send: Item[]; ended: Finished[]; holds: { delivery: ClaimedDelivery; hold: HoldBack }[] }> {
    const ended: Finished[] = [];
    const holds: { delivery: ClaimedDelivery; hold: HoldBack }[] = [];
    const limited: Item[] = [];
    const send: Item[] = [];
    const skip = (delivery: ClaimedDelivery, reason: string) =>
      ended.push({ delivery, end: { status: 'skipped', reason } });
    for (const { delivery, context } of items) {
      if (!context) {
        skip(delivery, 'event not found');
        continue;
      }
      if (context.tenantRevoked) {
        skip(delivery, 'tenant revoked');
        continue;
      }
      // A cancel can land while the fan-out runs: whatever that fan-out created is stopped here. A digest's
      // delivery is its opening event's but carries the others too: it goes on, and is skipped below only
      // when every event it gathered was cancelled.
      if (context.event.status === 'cancelled' && !context.digestId) {
        skip(delivery, 'event cancelled');
        continue;
      }
      const quietUntil =
        context.quietHours && quietHoursEnd(context.quietHours.window, context.quietHours.timeZone, new Date());
      if (context.quietHours && quietUntil) {
        const { start, end } = context.quietHours.window;
        const reason = `quiet hours ${start}–${end} (${context.quietHours.timeZone ?? 'UTC'}): deferred until ${quietUntil.toISOString()}`;
        holds.push({ delivery, hold: { status: 'deferred', reason, notBefore: quietUntil } });
        later.push({ ref: delivery, inMs: quietUntil.getTime() - Date.now() });
        continue;
      }
      if (context.digestId) {
        const digest = await flushDigest(this.digests, context.digestId);
        if (digest.count === 0) {
          skip(delivery, 'event cancelled');
          continue;
        }
        context.render = { ...context.render, ...digest };
      }
      (context.rateLimit ? limited : send).push({ delivery, context });
    }
    const decisions = await this.rateLimits.passMany(
      limited.map(({ delivery, context }) => ({ delivery, limit: context.rateLimit! })),
    );
    limited.forEach((item, i) => {
      const decision = decisions[i]!;
      if (decision.allowed) return void send.push(item);
      const { delivery, context } = item;
      const limit = context.rateLimit!;
      const reason = `rate limit: ${limit.limit} per ${limit.windowSeconds} s for this subscriber on ${delivery.channel}`;
      this.metrics.rateLimitDeferrals.inc({ channel: delivery.channel, policy: limit.policy });
      if (limit.policy === 'drop') return void holds.push({ delivery, hold: { status: 'rate_limited', reason } });
      holds.push({
        delivery,
        hold: { status: 'deferred', reason, notBefore: new Date(Date.now() + decision.retryAfterMs) },
      });
      later.push({ ref: delivery, inMs: decision.retryAfterMs });
    });
    return { send, ended, holds };
  }

  /** The channel's use case sends what passed the gates. */
  private handOff(
    tenantId: string,
    channel: Channel,
    send: Item[],
    spans: Map<string, Span>,
    open: Map<string, ClaimedDelivery>,
  ): Promise<Finished[]> {
    if (!send.length) return Promise.resolve([]);
    if (channel === 'inapp') {
      if (!this.inapp) throw new Error('no in-app use case in this worker');
      return this.inapp.deliver(tenantId, send);
    }
    if (!this.external) throw new Error(`no ${channel} use case in this worker`);
    // Each send runs in its delivery's span (its provider call's span is a child), and its claim leaves
    // the lease renewal once its outcome is recorded (a failover moves it to the next attempt number).
    const whileSending = async <T>(delivery: ClaimedDelivery, work: () => Promise<T>): Promise<T> => {
      const span = spans.get(delivery.id)!;
      const result = await otelContext.with(trace.setSpan(otelContext.active(), span), work);
      open.delete(delivery.id);
      return result;
    };
    return this.external.deliver(tenantId, channel as ExternalChannel, send, whileSending);
  }

  /** Metrics, the log line and the span of each delivery's run. */
  private account(
    channel: Channel,
    finished: Finished[],
    items: { delivery: ClaimedDelivery; context: DeliveryContext | null }[],
    spans: Map<string, Span>,
  ): void {
    const contexts = new Map(items.flatMap((i) => (i.context ? [[i.delivery.id, i.context] as const] : [])));
    for (const { delivery, end } of finished) {
      const status = end.status === 'queued' ? 'retry' : end.status;
      this.metrics.deliveries.inc({ channel, outcome: status });
      const context = contexts.get(delivery.id);
      if (end.status === 'sent' && context) {
        this.metrics.deliveryLatency.observe({ channel }, (Date.now() - context.event.createdAt.getTime()) / 1000);
      }
      const correlationId = context?.event.correlationId ?? undefined;
      const span = spans.get(delivery.id);
      span?.setAttribute('herald.outcome', status);
      if (correlationId) span?.setAttribute('herald.correlation_id', correlationId);
      // One line per run, carrying the event's correlation id: grep it to follow an event to each recipient.
      this.logger.log(
        {
          deliveryId: delivery.id,
          eventId: delivery.eventId,
          channel,
          status,
          attempt: delivery.attempt,
          correlationId,
        },
        `delivery ${status}`,
      );
    }
  }

  /** A job of its own, delayed, for each delivery that left its batch. */
  private async scheduleLater(later: Later[]): Promise<void> {
    if (!later.length) return;
    const queues = this.queues.deliveryQueues;
    const slots = new Semaphore(LATER_CONCURRENCY);
    await Promise.all(later.map(({ ref, inMs }) => slots.run(() => ensureDeliveryJob(queues, ref, inMs))));
  }
}

function asFinished({ delivery, hold }: { delivery: ClaimedDelivery; hold: HoldBack }): Finished {
  return { delivery, end: hold };
}

function summary(finished: Finished[], settled: number, leased: number): string {
  const counts = new Map<string, number>();
  for (const f of finished) counts.set(f.end.status, (counts.get(f.end.status) ?? 0) + 1);
  if (settled) counts.set('already settled', settled);
  if (leased) counts.set('held by another worker', leased);
  return [...counts].map(([status, n]) => `${status} ${n}`).join(', ') || 'nothing to do';
}
