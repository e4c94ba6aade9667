import { CanActivate, ExecutionContext, Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { TokenBucket, createRedis, queuePrefix } from '@herald/queue';
import { Problem } from '../http/problem';
import type { Principal } from '../auth/principal';

/**
 * Per-caller API rate limit (after the AuthGuard, which names the caller): a token bucket per key,
 * per inbox subscriber, or for the root key, shared by every api replica through Redis. Answers
 * carry RateLimit-Limit/-Remaining/-Reset; a refusal is 429 with Retry-After. Public routes
 * (health, provider feedback, inbound hooks) are not counted here. While Redis is unreachable the
 * limit is not enforced: ingest must keep accepting events through a Redis outage.
 */
@Injectable()
export class ApiRateLimitGuard implements CanActivate, OnApplicationShutdown {
  private readonly logger = new Logger('rate-limit');
  private readonly redis;
  private readonly bucket;
  private lastWarning = 0;

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {
    this.redis = createRedis(config, 'api-rate-limit');
    this.bucket = new TokenBucket(this.redis, `${queuePrefix(config)}:api-rl`);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { perSecond, burst } = this.config.apiRateLimit;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    if (perSecond === 0 || !request.principal) return true;
    const decision = await this.bucket.take(caller(request.principal), perSecond, burst).catch((err: Error) => {
      this.warnOnce(err);
      return undefined;
    });
    if (!decision) return true;
    const headers = {
      'ratelimit-limit': String(burst),
      'ratelimit-remaining': String(decision.remaining),
      'ratelimit-reset': String(Math.ceil(decision.resetMs / 1000)),
    };
    if (!decision.allowed) {
      throw new Problem(
        429,
        'rate-limited',
        'Too many requests',
        `This key may make ${perSecond} requests a second (bursts of ${burst})`,
        undefined,
        { headers: { ...headers, 'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) } },
      );
    }
    context.switchToHttp().getResponse<FastifyReply>().headers(headers);
    return true;
  }

  private warnOnce(err: Error): void {
    if (Date.now() - this.lastWarning < 30_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`API rate limit not enforced while Redis is unreachable: ${err.message}`);
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}

function caller(principal: Principal): string {
  switch (principal.kind) {
    case 'root':
      return 'root';
    case 'key':
      return `key:${principal.keyId}`;
    case 'inbox':
      return `inbox:${principal.tenantId}:${principal.subscriberId}`;
  }
}
