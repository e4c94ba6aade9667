import { Global, Injectable, Module } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What one run of a delivery job ended in: the delivery's status after it, or `retry` (a retryable
 * answer with budget left) and `deferred` (held for a rate-limit window) when the job runs again.
 */
export type DeliveryOutcome =
  'sent' | 'failed' | 'dead' | 'skipped' | 'suppressed' | 'rate_limited' | 'deferred' | 'retry';

/** Work done on every scrape, for gauges read from Postgres or Redis. */
export type ScrapeCollector = () => Promise<void>;

/**
 * Herald's Prometheus metrics, one registry per process (the api and the worker roles of the
 * all-in-one share it). Labels take only bounded values — channel, outcome, queue, state, provider,
 * policy — never a tenant, subscriber or delivery id.
 */
@Injectable()
export class HeraldMetrics {
  readonly registry = new Registry();

  readonly eventsAccepted = new Counter({
    name: 'herald_events_accepted_total',
    help: 'Events made durable by ingest (an Idempotency-Key replay is not counted again)',
    registers: [this.registry],
  });

  readonly outboxLag = new Gauge({
    name: 'herald_outbox_lag_seconds',
    help: 'Age of the oldest outbox row not yet published to the fanout queue (0: none waiting)',
    registers: [this.registry],
  });

  readonly queueJobs = new Gauge({
    name: 'herald_queue_jobs',
    help: 'Jobs in each BullMQ queue by state (the dead-letter queue is queue="dead-letter")',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Delivery job runs by channel and what they ended in (retry and deferred: the job runs again)',
    labelNames: ['channel', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly providerLatency = new Histogram({
    name: 'herald_provider_latency_seconds',
    help: "One provider call (SMTP, Twilio, FCM, webhook POST), by the answer's class",
    labelNames: ['channel', 'provider', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'herald_delivery_latency_seconds',
    help: 'From the event being accepted to its delivery being sent (retries and deferrals included)',
    labelNames: ['channel'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly rateLimitDeferrals = new Counter({
    name: 'herald_rate_limit_deferrals_total',
    help: "Deliveries held back by a subscriber's rate limit, by the rule's policy (defer: waits; drop: rate_limited)",
    labelNames: ['channel', 'policy'] as const,
    registers: [this.registry],
  });

  readonly retentionPurged = new Counter({
    name: 'herald_retention_purged_total',
    help: 'What the retention purge removed, by kind (idempotency_keys: released; dead_letters: expired to failed)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  private readonly collectors = new Set<ScrapeCollector>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'herald_' });
  }

  /** Runs `collect` before every scrape; it should leave its gauge as it was when its source is away. */
  onScrape(collect: ScrapeCollector): void {
    this.collectors.add(collect);
  }

  /** The Prometheus text exposition, with the scrape-time gauges read first. */
  async scrape(): Promise<string> {
    await Promise.all([...this.collectors].map((collect) => collect().catch(() => undefined)));
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** Makes HeraldMetrics injectable everywhere; the api and the worker both import it (Nest keeps one). */
@Global()
@Module({ providers: [HeraldMetrics], exports: [HeraldMetrics] })
export class MetricsModule {}
