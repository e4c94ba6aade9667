import { Controller, Get, Header, Inject } from '@nestjs/common';
import type { Pool } from 'pg';
import { HeraldMetrics } from '@herald/config';
import { PG_POOL, outboxLagCollector } from '@herald/db';
import { QueueClients, QueueName, queueJobsCollector } from '@herald/queue';

/**
 * Prometheus metrics: HeraldMetrics' registry, shared with the worker roles of this process. The
 * outbox lag and every queue's depth are read when scraped, so each api replica reports the same
 * shared values; the dead-letter queue's depth is `herald_queue_jobs{queue="dead-letter"}`.
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    @Inject(HeraldMetrics) private readonly metrics: HeraldMetrics,
    @Inject(PG_POOL) pool: Pool,
    @Inject(QueueClients) queues: QueueClients,
  ) {
    metrics.onScrape(outboxLagCollector(pool, metrics));
    metrics.onScrape(queueJobsCollector(() => Object.values(QueueName).map((name) => queues.get(name)), metrics));
  }

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
