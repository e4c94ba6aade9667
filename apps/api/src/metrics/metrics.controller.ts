import { Controller, Get, Header, Headers, Inject } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics, metricsScrapeAllowed } from '@herald/observability';
import { OutboxLagProbe } from '@herald/db';
import { QueueClients, QueueName, queueJobsCollector } from '@herald/queue';
import { Problem } from '../http/problem';

/**
 * Prometheus metrics: HeraldMetrics' registry, shared with the worker roles of this process. The
 * outbox lag and every queue's depth are read when scraped, so each api replica reports the same
 * shared values; the dead-letter queue's depth is `herald_queue_jobs{queue="dead-letter"}`.
 * With METRICS_TOKEN set, a scrape must present it as a Bearer token (no Herald key opens it).
 */
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: HeraldMetrics,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    outboxLag: OutboxLagProbe,
    queues: QueueClients,
  ) {
    metrics.onScrape(outboxLag.collector(metrics));
    metrics.onScrape(queueJobsCollector(() => Object.values(QueueName).map((name) => queues.get(name)), metrics));
  }

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(@Headers('authorization') authorization?: string): Promise<string> {
    if (!metricsScrapeAllowed(this.config.metricsToken, authorization)) throw tokenNeeded();
    return this.metrics.scrape();
  }
}

function tokenNeeded(): Problem {
  const detail = 'Send METRICS_TOKEN as "Authorization: Bearer <token>"';
  return new Problem(401, 'unauthorized', 'Unauthorized', detail, undefined, {
    headers: { 'www-authenticate': 'Bearer realm="metrics"' },
  });
}
