import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { QueueClients, QueueName } from '@herald/queue';

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

/**
 * Prometheus metrics. Queue depths are read when scraped, so every api replica reports the same
 * shared queues; the dead-letter queue's depth is `herald_queue_jobs{queue="dead-letter"}`.
 */
@Controller('metrics')
export class MetricsController {
  private readonly registry = new Registry();

  constructor(@Inject(QueueClients) queues: QueueClients) {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
    new Gauge({
      name: 'herald_queue_jobs',
      help: 'Jobs in each BullMQ queue by state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const name of Object.values(QueueName)) {
          // While Redis is away the gauge is left empty rather than failing the whole scrape.
          const counts = await queues
            .get(name)
            .getJobCounts(...STATES)
            .catch(() => undefined);
          for (const state of STATES) if (counts) this.set({ queue: name, state }, counts[state] ?? 0);
        }
      },
    });
  }

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
