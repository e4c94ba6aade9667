import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { PostgresHealth } from '@herald/db';
import { RedisHealth } from '@herald/queue';
import { Problem } from '../http/problem';
import { Returns } from '../docs/api-output.decorator';
import { liveSchema, readySchema } from './health.contract';

/**
 * Liveness answers while the process runs; readiness checks Postgres and Redis (terminus) and
 * answers 503 problem+json naming the failing checks — also while the process shuts down.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: PostgresHealth,
    private readonly redis: RedisHealth,
  ) {}

  @Get('live')
  @Returns(liveSchema)
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  @Returns(readySchema)
  async ready() {
    try {
      const result = await this.health.check([this.postgres.check(), this.redis.check()]);
      return { status: result.status, checks: result.details };
    } catch (err) {
      if (err instanceof ServiceUnavailableException) throw new NotReady(err.getResponse() as HealthCheckResult);
      throw err;
    }
  }
}

/** 503 with Retry-After; the body's `checks` has every check's status and the failures' messages. */
class NotReady extends Problem {
  constructor(result: HealthCheckResult) {
    const failing = Object.entries(result.error ?? {}).map(([key, check]) => `${key}: ${check?.message ?? 'down'}`);
    const detail = result.status === 'shutting_down' ? 'shutting down' : failing.join(', ');
    super(503, 'not-ready', 'Not ready', detail, undefined, {
      headers: { 'retry-after': '5' },
      extensions: { checks: result.details },
    });
  }
}
