import { Controller, Get, Inject, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { PG_POOL } from '@herald/db';
import { createRedis } from '@herald/queue';
import { Problem } from '../http/problem';

/** Liveness answers while the process runs; readiness checks Postgres and Redis. */
@Controller('health')
export class HealthController implements OnApplicationShutdown {
  private readonly redis;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) config: HeraldConfig,
  ) {
    this.redis = createRedis(config.redisUrl, 'health', { lazyConnect: true });
  }

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready() {
    const [postgres, redis] = await Promise.all([
      this.pool.query('SELECT 1').then(
        () => 'up',
        () => 'down',
      ),
      this.ping().then(
        () => 'up',
        () => 'down',
      ),
    ]);
    if (postgres === 'down' || redis === 'down') {
      throw new Problem(503, 'not-ready', 'Not ready', `postgres: ${postgres}, redis: ${redis}`, undefined, {
        'retry-after': '5',
      });
    }
    return { status: 'ok', checks: { postgres, redis } };
  }

  private async ping(): Promise<void> {
    if (this.redis.status === 'wait') await this.redis.connect();
    await this.redis.ping();
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
