import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import type { AppliedRateLimit, Channel } from '@herald/core';
import type { ClaimedDelivery } from '@herald/db';
import { SubscriberRateLimiter, createRedis, queuePrefix, type RateDecision } from '@herald/queue';

/**
 * Per-subscriber rate limits, and providers' send rates (PROVIDER_RATE_<CHANNEL>), counted in Redis so
 * every worker process shares one count: sliding-window logs, exact over any window.
 */
@Injectable()
export class RateLimitGate implements OnApplicationShutdown {
  private readonly redis;
  private readonly limiter;

  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {
    this.redis = createRedis(config, 'rate-limiter');
    this.limiter = new SubscriberRateLimiter(this.redis, `${queuePrefix(config)}:rl`);
  }

  /**
   * Counts each delivery against its subscriber's window (once, however often it is asked), for a whole
   * batch in one round trip; decisions in the order asked.
   */
  passMany(asked: { delivery: ClaimedDelivery; limit: AppliedRateLimit }[]): Promise<RateDecision[]> {
    return this.limiter.consumeMany(
      asked.map(({ delivery, limit }) => ({
        key: `${delivery.tenantId}:${delivery.channel}:${limit.scope}:${delivery.subscriberId}`,
        member: delivery.id,
        limit: limit.limit,
        windowMs: limit.windowSeconds * 1000,
      })),
    );
  }

  /**
   * Waits until the channel's provider may take one more message (PROVIDER_RATE_<CHANNEL>, shared by every
   * worker); at once when the channel has no such limit. `member` names the send (delivery and attempt).
   */
  async providerSlot(channel: Exclude<Channel, 'inapp'>, member: string): Promise<void> {
    const rate = this.config.providerRates[channel];
    if (!rate) return;
    for (;;) {
      const decision = await this.limiter.consume(`provider:${channel}`, member, rate.max, rate.duration);
      if (decision.allowed) return;
      await new Promise((resolve) => setTimeout(resolve, decision.retryAfterMs));
    }
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
