import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bullmq';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { type HeraldMetrics, type ScrapeCollector } from '@herald/observability';
import { assertQueueReachable } from './queue-options';
import { createRedis } from './redis';

const CHECK_TIMEOUT_MS = 2000;
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/** Readiness of Redis: a PING on a connection of its own (opened on the first check) answers. */
@Injectable()
export class RedisHealth implements OnApplicationShutdown {
  private readonly redis;

  constructor(
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    private readonly indicators: HealthIndicatorService,
  ) {
    this.redis = createRedis(config, 'health', { lazyConnect: true });
  }

  check() {
    return this.indicators
      .check('redis')
      .attempt(async () => {
        if (this.redis.status === 'wait') await this.redis.connect();
        await this.redis.ping();
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}

/** Readiness of a BullMQ queue's own connection (`queue:<name>`): connected, and answering a command. */
@Injectable()
export class QueueHealth {
  constructor(private readonly indicators: HealthIndicatorService) {}

  check(queue: Queue) {
    return this.indicators
      .check(`queue:${queue.name}`)
      .attempt(async () => {
        // Not ready → fail now: a command on BullMQ's connection would wait in its offline queue.
        await assertQueueReachable(queue, CHECK_TIMEOUT_MS);
        await queue.isPaused();
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }
}

/**
 * herald_queue_jobs{queue,state}, read on each scrape. The queues are shared, so every process
 * that serves /metrics reports the same depths; a queue Redis cannot answer for is left out.
 */
export function queueJobsCollector(queues: () => Queue[], metrics: HeraldMetrics): ScrapeCollector {
  return async () => {
    const read = await Promise.all(
      queues().map(async (queue) => ({
        queue: queue.name,
        // Checked first: while Redis is away BullMQ's commands would wait for it, and so the scrape.
        counts: await assertQueueReachable(queue)
          .then(() => queue.getJobCounts(...JOB_STATES))
          .catch(() => undefined),
      })),
    );
    metrics.queueJobs.reset();
    for (const { queue, counts } of read) {
      if (counts) for (const state of JOB_STATES) metrics.queueJobs.set({ queue, state }, counts[state] ?? 0);
    }
  };
}
