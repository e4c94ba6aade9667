import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { AppliedRateLimit } from '@herald/core';
import { SubscriberRateLimiter, createRedis, queuePrefix, type RateDecision } from '@herald/queue';
import type { ClaimedDelivery } from './delivery-claim';

/** Per-subscriber rate limits, counted in Redis so every worker process shares one count. */
@Injectable()
export class RateLimitGate implements OnApplicationShutdown {
  private readonly redis;
  private readonly limiter;

  constructor(@Inject(HERALD_CONFIG) config: HeraldConfig) {
    this.redis = createRedis(config, 'rate-limiter');
    this.limiter = new SubscriberRateLimiter(this.redis, `${queuePrefix(config)}:rl`);
  }

  /** Counts the delivery against its subscriber's window (once, however often it is asked). */
  pass(delivery: ClaimedDelivery, limit: AppliedRateLimit): Promise<RateDecision> {
    const key = `${delivery.tenantId}:${delivery.channel}:${limit.scope}:${delivery.subscriberId}`;
    return this.limiter.consume(key, delivery.id, limit.limit, limit.windowSeconds * 1000);
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
