import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { PoolClient } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics } from '@herald/observability';
import {
  DeliveriesRepository,
  HousekeepingRepository,
  pickPurgeableEvents,
  purgeArchivedInboxMessages,
  purgeDeliveries,
  purgeEvents,
  purgeFeedbackEvents,
  purgePublishedOutbox,
  releaseIdempotencyKeys,
} from '@herald/db';
import { QueueName, type DeadLetterJob } from '@herald/queue';

// Any constant works, as long as nothing else in Herald takes this advisory lock (the sweep's is 0x4845_5244).
const RETENTION_LOCK = 0x4845_5245;

/** What one pass did, by kind; `heldEvents` were old enough but still in use, and were left alone. */
export interface RetentionPass {
  idempotencyKeys: number;
  deadLetters: number;
  events: number;
  deliveries: number;
  heldEvents: number;
  inboxMessages: number;
  outbox: number;
  feedbackEvents: number;
}

/**
 * Retention (role `housekeeping`, docs/production.md "Retention"): releases idempotency keys, expires dead letters,
 * and purges finished events (with their deliveries and attempts), archived inbox messages, published
 * outbox rows and feedback events once their time is up. A pass does at most RETENTION_BATCHES_PER_PASS
 * statements of RETENTION_BATCH_SIZE rows per kind, each its own short transaction, so a backlog is
 * worked off over several passes and nothing waits on the purge. One purger at a time (advisory lock).
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('retention');
  private timer?: NodeJS.Timeout;
  private current?: Promise<unknown>;

  constructor(
    private readonly housekeeping: HousekeepingRepository,
    private readonly deliveries: DeliveriesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
    @InjectQueue(QueueName.DeadLetter) private readonly deadLetterQueue: Queue<DeadLetterJob>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  /** One pass; null when another housekeeper's pass holds the lock. */
  async purgeOnce(): Promise<RetentionPass | null> {
    // A session lock on one connection: the pass's statements each commit on their own.
    return this.housekeeping.underLock(RETENTION_LOCK, async (client) => {
      const pass = await this.pass(client);
      this.report(pass);
      return pass;
    });
  }

  private async pass(client: PoolClient): Promise<RetentionPass> {
    const r = this.config.retention;
    const limit = r.batchSize;
    const done: RetentionPass = {
      idempotencyKeys: 0,
      deadLetters: 0,
      events: 0,
      deliveries: 0,
      heldEvents: 0,
      inboxMessages: 0,
      outbox: 0,
      feedbackEvents: 0,
    };
    if (r.idempotencyKeySeconds) {
      done.idempotencyKeys = await this.batches(() => releaseIdempotencyKeys(client, r.idempotencyKeySeconds, limit));
    }
    if (r.deadLetterSeconds) {
      // Before the events: an event whose dead letter expires now can go in this same pass. With Redis
      // away, dead letters wait for a later pass; the rest of the purge needs only Postgres.
      done.deadLetters = await this.batches(() => this.expireDeadLetters(client, r.deadLetterSeconds, limit)).catch(
        (err: Error) => {
          this.logger.warn(`dead letters not expired this pass: ${err.message}`);
          return 0;
        },
      );
    }
    if (r.eventSeconds) {
      await this.purgeEvents(client, done);
      done.feedbackEvents = await this.batches(() => purgeFeedbackEvents(client, r.eventSeconds, limit));
    }
    if (r.archivedInboxSeconds) {
      done.inboxMessages = await this.batches(() => purgeArchivedInboxMessages(client, r.archivedInboxSeconds, limit));
    }
    if (r.publishedOutboxSeconds) {
      done.outbox = await this.batches(() => purgePublishedOutbox(client, r.publishedOutboxSeconds, limit));
    }
    return done;
  }

  /** Runs `batch` until it returns less than a full batch, at most RETENTION_BATCHES_PER_PASS times. */
  private async batches(batch: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.config.retention.batchesPerPass; i++) {
      const n = await batch();
      total += n;
      if (n < this.config.retention.batchSize) break;
    }
    return total;
  }

  /**
   * Events go in three steps, each bounded: pick (and judge) a batch of candidates, delete a batch of
   * their deliveries, delete those of them with no delivery left. An event with more deliveries than a
   * batch (a broadcast) is picked again by the next round, until its deliveries are gone.
   */
  private async purgeEvents(client: PoolClient, done: RetentionPass): Promise<void> {
    const r = this.config.retention;
    for (let i = 0; i < r.batchesPerPass; i++) {
      const { purgeable, held } = await pickPurgeableEvents(client, {
        olderThanSeconds: r.eventSeconds,
        deadLetterSeconds: r.deadLetterSeconds,
        limit: r.batchSize,
      });
      done.heldEvents += held;
      if (purgeable.length === 0) {
        if (held === 0) return;
        continue;
      }
      done.deliveries += await purgeDeliveries(client, purgeable, r.batchSize);
      const purged = await purgeEvents(client, purgeable);
      done.events += purged;
      // Less than a batch looked at, and all of it gone: nothing is waiting.
      if (purgeable.length + held < r.batchSize && purged === purgeable.length) return;
    }
  }

  /**
   * Dead letters leave Postgres's dead-letter state and the `dead-letter` queue's copies together: the
   * copies are removed before the change commits, so an unreachable Redis leaves both for the next pass.
   */
  private async expireDeadLetters(client: PoolClient, olderThanSeconds: number, limit: number): Promise<number> {
    return this.housekeeping.transaction(client, async () => {
      const ids = await this.deliveries.expireDeadLetters(olderThanSeconds, limit, client);
      await Promise.all(ids.map((id) => this.deadLetterQueue.remove(id)));
      return ids.length;
    });
  }

  private report(pass: RetentionPass): void {
    const kinds: [keyof RetentionPass, string][] = [
      ['idempotencyKeys', 'idempotency_keys'],
      ['deadLetters', 'dead_letters'],
      ['events', 'events'],
      ['deliveries', 'deliveries'],
      ['inboxMessages', 'inbox_messages'],
      ['outbox', 'outbox'],
      ['feedbackEvents', 'feedback_events'],
    ];
    for (const [key, kind] of kinds) if (pass[key]) this.metrics.retentionPurged.inc({ kind }, pass[key]);
    // Quiet when there was nothing to do: a pass runs every HOUSEKEEPING_INTERVAL_MS.
    if (Object.values(pass).some(Boolean)) this.logger.log({ ...pass }, 'retention pass');
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.current = this.purgeOnce()
        .catch((err: Error) => this.logger.warn(`retention pass failed: ${err.message}`))
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, this.config.housekeeping.intervalMs);
  }
}
