import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SpanKind, trace } from '@opentelemetry/api';
import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Pool } from 'pg';
import {
  HERALD_CONFIG,
  HeraldMetrics,
  contextOf,
  inSpan,
  type DeliveryOutcome,
  type HeraldConfig,
} from '@herald/config';
import { quietHoursEnd, type AppliedRateLimit } from '@herald/core';
import { PG_POOL } from '@herald/db';
import type { DeliveryJob } from '@herald/queue';
import { flushDigest } from '../digest/flush-digest';
import { DeadLetterCopier } from '../dlq/dead-letter-copier';
import { DeliverExternalUseCase } from './deliver-external.usecase';
import { DeliverInappUseCase } from './deliver-inapp.usecase';
import {
  claimDelivery,
  finishDelivery,
  holdBackDelivery,
  releaseDelivery,
  type ClaimedDelivery,
} from './delivery-claim';
import { loadDeliveryContext, type DeliveryContext } from './delivery-context';
import { RateLimitGate } from './rate-limit-gate';

/** What became of one run of a delivery job, and so what the job does next. */
type RunOutcome =
  | { next: 'done'; status: Exclude<DeliveryOutcome, 'retry' | 'deferred'> }
  | { next: 'later'; status: 'queued' | 'deferred'; inMs: number }
  | { next: 'fail'; status: 'failed'; reason: string };

/**
 * One delivery job, whatever the channel: claim it, apply the subscriber's rate limit, deliver,
 * and turn the outcome into what BullMQ does with the job. Waits (a retry's backoff, a rate-limit
 * window) move the job to the delayed set without using up BullMQ attempts: the retry budget is
 * counted in Postgres, per delivery, so it survives Redis losing the job.
 */
@Injectable()
export class DeliveryRunner {
  private readonly logger = new Logger('delivery');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(RateLimitGate) private readonly rateLimits: RateLimitGate,
    @Inject(DeadLetterCopier) private readonly deadLetters: DeadLetterCopier,
    @Inject(HeraldMetrics) private readonly metrics: HeraldMetrics,
  ) {}

  /**
   * In a `herald.deliver` span, a child of the fan-out's (every run of the job, retries included);
   * its `herald.outcome` is what the run returned, `delayed` or `error`.
   */
  run(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const attributes = {
      'herald.channel': job.queueName.replace(/^deliver\./, ''),
      'herald.delivery_id': job.data.deliveryId,
      'herald.tenant_id': job.data.tenantId,
    };
    const delayed = (err: unknown) => err instanceof DelayedError;
    return inSpan(
      'herald.deliver',
      { parent: contextOf(job.data.traceParent), kind: SpanKind.CONSUMER, attributes, isError: (err) => !delayed(err) },
      async (span) => {
        try {
          const outcome = await this.runOnce(job, token);
          span.setAttribute('herald.outcome', outcome);
          return outcome;
        } catch (err) {
          span.setAttribute('herald.outcome', delayed(err) ? 'delayed' : 'error');
          throw err;
        }
      },
    );
  }

  private async runOnce(job: Job<DeliveryJob>, token?: string): Promise<string> {
    const claim = await claimDelivery(this.pool, job.data.deliveryId, this.config.deliveryLeaseSeconds);
    if (!claim.claimed) {
      if (claim.status === 'sending' && claim.leaseUntil) {
        // Another worker holds a live lease: look again when it runs out, in case that worker died.
        return this.later(job, token, claim.leaseUntil.getTime() + 100 - Date.now());
      }
      // A redelivered job of a dead delivery finishes the copy to the DLQ its first run may have missed.
      if (claim.status === 'dead') await this.deadLetters.copy(job.data.deliveryId);
      return `skipped: delivery is ${claim.status}`;
    }

    let outcome: RunOutcome;
    try {
      outcome = await this.deliver(claim.delivery);
    } catch (err) {
      // Infrastructure trouble (database, template store…): hand the delivery back for BullMQ's retry.
      await releaseDelivery(this.pool, claim.delivery).catch(() => undefined);
      throw err;
    }
    if (outcome.next === 'later') return this.later(job, token, outcome.inMs);
    if (outcome.next === 'fail') throw new UnrecoverableError(outcome.reason);
    if (outcome.status === 'dead') await this.deadLetters.copy(claim.delivery.id);
    return outcome.status;
  }

  private async skipCancelled(delivery: ClaimedDelivery): Promise<RunOutcome> {
    await finishDelivery(this.pool, delivery, { status: 'skipped', reason: 'event cancelled' });
    return { next: 'done', status: 'skipped' };
  }

  private async deliver(delivery: ClaimedDelivery): Promise<RunOutcome> {
    const context = await loadDeliveryContext(this.pool, delivery);
    const { correlationId } = context.event;
    if (correlationId) trace.getActiveSpan()?.setAttribute('herald.correlation_id', correlationId);
    const outcome = await this.outcomeOf(delivery, context);
    this.count(delivery, context, outcome);
    // One line per run, carrying the event's correlation id: grep it to follow an event to each recipient.
    this.logger.log(
      {
        deliveryId: delivery.id,
        eventId: delivery.eventId,
        channel: delivery.channel,
        status: outcome.status,
        attempt: delivery.attempt,
        correlationId,
      },
      `delivery ${outcome.status}`,
    );
    return outcome;
  }

  private async outcomeOf(delivery: ClaimedDelivery, context: DeliveryContext): Promise<RunOutcome> {
    // A cancel can land while the fan-out runs (after it read the event, before its deliveries
    // existed): whatever that fan-out created is stopped here, before anything is sent. A digest's
    // delivery is its opening event's, but it carries the other events too: it goes on, and is
    // skipped below only when every event it gathered was cancelled.
    if (context.event.status === 'cancelled' && !context.digestId) return this.skipCancelled(delivery);
    if (context.quietHours) {
      const held = await this.applyQuietHours(delivery, context.quietHours);
      if (held) return held;
    }
    // A digest keeps taking events while its subscriber's quiet hours hold it; it closes here, before
    // the rate limit, because a limit may drop the delivery for good and must not strand the digest open.
    if (context.digestId) {
      const digest = await flushDigest(this.pool, context.digestId);
      if (digest.count === 0) return this.skipCancelled(delivery);
      context.render = { ...context.render, ...digest };
    }
    if (context.rateLimit) {
      const held = await this.applyRateLimit(delivery, context.rateLimit);
      if (held) return held;
    }
    if (delivery.channel === 'inapp') {
      const status = await this.moduleRef.get(DeliverInappUseCase, { strict: false }).deliver(delivery, context);
      return { next: 'done', status };
    }
    const { outcome, result, retryInMs } = await this.moduleRef
      .get(DeliverExternalUseCase, { strict: false })
      .deliver(delivery, context);
    if (outcome === 'retry') return { next: 'later', status: 'queued', inMs: retryInMs ?? 0 };
    if (outcome === 'failed' && result) {
      // Permanent: BullMQ must not retry; the job stays in the failed set with the reason.
      return { next: 'fail', status: 'failed', reason: `${result.code ?? result.outcome}: ${result.message ?? ''}` };
    }
    return { next: 'done', status: outcome };
  }

  /** herald_deliveries_total for every run that got an answer, and trigger → sent for the sent ones. */
  private count(delivery: ClaimedDelivery, context: DeliveryContext, outcome: RunOutcome): void {
    const channel = delivery.channel;
    this.metrics.deliveries.inc({ channel, outcome: outcome.status === 'queued' ? 'retry' : outcome.status });
    if (outcome.status === 'sent') {
      this.metrics.deliveryLatency.observe({ channel }, (Date.now() - context.event.createdAt.getTime()) / 1000);
    }
  }

  /** Over the limit: deferred to when the window has room (policy defer), or dropped (drop). */
  private async applyRateLimit(delivery: ClaimedDelivery, limit: AppliedRateLimit): Promise<RunOutcome | null> {
    const decision = await this.rateLimits.pass(delivery, limit);
    if (decision.allowed) return null;
    const reason = `rate limit: ${limit.limit} per ${limit.windowSeconds} s for this subscriber on ${delivery.channel}`;
    this.metrics.rateLimitDeferrals.inc({ channel: delivery.channel, policy: limit.policy });
    if (limit.policy === 'drop') {
      await holdBackDelivery(this.pool, delivery, { status: 'rate_limited', reason });
      return { next: 'done', status: 'rate_limited' };
    }
    const notBefore = new Date(Date.now() + decision.retryAfterMs);
    await holdBackDelivery(this.pool, delivery, { status: 'deferred', reason, notBefore });
    return { next: 'later', status: 'deferred', inMs: decision.retryAfterMs };
  }

  /**
   * Inside the subscriber's quiet hours: deferred to the window's end. Checked before the rate
   * limit, so a delivery that waits out the night does not use up the subscriber's window first.
   */
  private async applyQuietHours(
    delivery: ClaimedDelivery,
    quiet: NonNullable<DeliveryContext['quietHours']>,
  ): Promise<RunOutcome | null> {
    const now = new Date();
    const end = quietHoursEnd(quiet.window, quiet.timeZone, now);
    if (!end) return null;
    const { start, end: until } = quiet.window;
    const reason = `quiet hours ${start}–${until} (${quiet.timeZone ?? 'UTC'}): deferred until ${end.toISOString()}`;
    await holdBackDelivery(this.pool, delivery, { status: 'deferred', reason, notBefore: end });
    return { next: 'later', status: 'deferred', inMs: end.getTime() - now.getTime() };
  }

  /** Puts the job back in the delayed set, without counting a BullMQ attempt. */
  private async later(job: Job<DeliveryJob>, token: string | undefined, inMs: number): Promise<never> {
    if (!token) throw new Error('cannot delay a job without its lock token');
    await job.moveToDelayed(Date.now() + Math.max(0, inMs), token);
    throw new DelayedError();
  }
}
