import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import type { Pool } from 'pg';
import type { HeraldMetrics, ScrapeCollector } from '@herald/observability';
import { PG_POOL } from './pg-pool';

const CHECK_TIMEOUT_MS = 2000;

// The relay publishes in id order; the partial index on unpublished rows makes this one index probe.
export const OLDEST_UNPUBLISHED = `
SELECT extract(epoch FROM now() - created_at)::float8 AS "ageSeconds"
FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1`;

/** Readiness of Postgres: a `SELECT 1` through the pool answers within 2 s. */
@Injectable()
export class PostgresHealth {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly indicators: HealthIndicatorService,
  ) {}

  check() {
    return this.indicators
      .check('postgres')
      .attempt(async () => {
        await this.pool.query('SELECT 1');
      })
      .withTimeout(CHECK_TIMEOUT_MS);
  }
}

/**
 * How far the relay is behind, for the api's and the workers' /metrics (DbModule provides it to both). System:
 * the outbox is every tenant's.
 */
@Injectable()
export class OutboxLagProbe {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** System: seconds since the oldest unpublished outbox row was written; 0 when every row is published. */
  async ageSeconds(): Promise<number> {
    const { rows } = await this.pool.query<{ ageSeconds: number }>(OLDEST_UNPUBLISHED);
    return rows[0]?.ageSeconds ?? 0;
  }

  /** herald_outbox_lag_seconds, read on each scrape; while Postgres is away it keeps its last value. */
  collector(metrics: HeraldMetrics): ScrapeCollector {
    return async () => {
      metrics.outboxLag.set(Math.max(0, await this.ageSeconds()));
    };
  }
}
