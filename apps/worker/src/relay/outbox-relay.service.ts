import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import type { JobsOptions, Queue } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { contextOf, traceParentOf, tracer } from '@herald/observability';
import { deterministicUuid } from '@herald/core';
import { OutboxRepository, type OutboxListener, type OutboxRow } from '@herald/db';
import { QueueName, assertQueueReachable, type FanoutJob, type JobOf } from '@herald/queue';

const MAX_BACKOFF_MS = 5000;

/**
 * Outbox relay (role `relay`): moves committed events from Postgres to the `fanout` queue.
 * Woken by NOTIFY on commit, with polling as the fallback when a notification is missed.
 * At-least-once: a crash between enqueue and commit re-sends rows, which the fan-out's
 * jobId = eventId and idempotent inserts absorb.
 */
@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('relay');
  private listener?: OutboxListener;
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  /** a NOTIFY came since the last drain began: rows may be waiting that it did not see */
  private notified = false;
  private failures = 0;

  constructor(
    private readonly outbox: OutboxRepository,
    @InjectQueue(QueueName.Fanout) private readonly fanout: Queue<JobOf<typeof QueueName.Fanout>>,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.listen();
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.listener?.close();
  }

  /**
   * Publishes one batch of outbox rows; returns how many it published. Events due now go to the fan-out in
   * jobs of up to FANOUT_JOB_EVENTS events of one tenant (the job id derived from its events, so a batch
   * published twice is one job); an event scheduled for later (`sendAt`) goes alone, delayed, with its own
   * id as the job's, so a cancel can take the job back.
   */
  async drainOnce(): Promise<number> {
    await assertQueueReachable(this.fanout);
    return this.outbox.transaction(async (client) => {
      const rows = await this.outbox.claim(client, this.config.relay.batchSize);
      if (rows.length === 0) return 0;
      const now = Date.now();
      // One `herald.relay.publish` span per event, a child of its ingest span, ended when the batch is out.
      const spans = rows.map((r) =>
        tracer().startSpan(
          'herald.relay.publish',
          {
            kind: SpanKind.PRODUCER,
            attributes: {
              'herald.event_id': r.eventId,
              'herald.tenant_id': r.tenantId,
              ...(r.correlationId ? { 'herald.correlation_id': r.correlationId } : {}),
            },
          },
          contextOf(r.traceParent),
        ),
      );
      try {
        await this.fanout.addBulk(fanoutJobs(rows, spans, now, this.config.fanout.eventsPerJob));
        await this.outbox.markPublished(
          client,
          rows.map((r) => r.id),
        );
        for (const r of rows) this.logger.debug({ eventId: r.eventId, correlationId: r.correlationId }, 'relayed');
      } catch (err) {
        spans.forEach((span) => span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message }));
        throw err;
      } finally {
        spans.forEach((span) => span.end());
      }
      return rows.length;
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        this.notified = false;
        const published = await this.drainOnce();
        if (this.failures) this.logger.log('outbox relay recovered');
        this.failures = 0;
        // A commit notified while this batch was out would otherwise wait for the next poll.
        if (published === this.config.relay.batchSize || this.notified) continue;
        await this.sleep(this.config.relay.pollMs);
      } catch (err) {
        // Redis or Postgres away: the rows stay unpublished in Postgres; try again with backoff.
        this.failures++;
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.logger.warn(`outbox relay cannot publish yet (${(err as Error).message}); retrying`);
        }
        await this.sleep(Math.min(100 * 2 ** this.failures, MAX_BACKOFF_MS));
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** A dedicated connection for LISTEN; reconnects on loss (polling covers the gap). */
  private listen(): void {
    if (!this.running) return;
    this.listener = this.outbox.listen(
      () => {
        this.notified = true;
        this.wake?.();
      },
      () => {
        if (this.running) setTimeout(() => this.listen(), 1000);
      },
    );
  }
}

type FanoutJobOptions = { name: string; data: FanoutJob; opts: JobsOptions };

/** The fan-out jobs for a claimed batch: scheduled events alone and delayed, the rest by tenant in chunks. */
function fanoutJobs(rows: OutboxRow[], spans: Span[], now: number, eventsPerJob: number): FanoutJobOptions[] {
  const traceParent = (i: number) => traceParentOf(spans[i]);
  const jobs: FanoutJobOptions[] = [];
  const dueNow = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const delay = row.sendAt ? row.sendAt.getTime() - now : 0;
    if (delay > 0) {
      const tp = traceParent(i);
      jobs.push({
        name: QueueName.Fanout,
        data: {
          tenantId: row.tenantId,
          eventIds: [row.eventId],
          ...(tp ? { traceParents: { [row.eventId]: tp } } : {}),
        },
        opts: { jobId: row.eventId, delay },
      });
    } else {
      dueNow.set(row.tenantId, [...(dueNow.get(row.tenantId) ?? []), i]);
    }
  });
  for (const [tenantId, indexes] of dueNow) {
    for (let start = 0; start < indexes.length; start += eventsPerJob) {
      const chunk = indexes.slice(start, start + eventsPerJob);
      const eventIds = chunk.map((i) => rows[i]!.eventId);
      const traced = chunk.flatMap((i) => {
        const tp = traceParent(i);
        return tp ? [[rows[i]!.eventId, tp] as const] : [];
      });
      jobs.push({
        name: QueueName.Fanout,
        data: { tenantId, eventIds, ...(traced.length ? { traceParents: Object.fromEntries(traced) } : {}) },
        // one event: its own id, as a scheduled one's (the sweep re-adds a stuck event under it too)
        opts: { jobId: eventIds.length === 1 ? eventIds[0] : deterministicUuid('fanout-events', ...eventIds) },
      });
    }
  }
  return jobs;
}
