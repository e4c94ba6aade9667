import type { RedisClient } from './redis';

export interface BucketDecision {
  allowed: boolean;
  /** whole tokens left after this request */
  remaining: number;
  /** ms until the bucket is full again */
  resetMs: number;
  /** refused: ms until one token is back */
  retryAfterMs: number;
}

// Refill and take in one script so concurrent api replicas share one exact bucket per caller.
// Redis's own clock: replicas with skewed clocks must agree on how much has refilled.
const TAKE = `
if redis.replicate_commands then redis.replicate_commands() end
local key = KEYS[1]
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + (now - at) * rate / 1000)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
local resetMs = math.ceil((burst - tokens) * 1000 / rate)
redis.call('PEXPIRE', key, resetMs + 1000)
local retryMs = 0
if allowed == 0 then retryMs = math.ceil((1 - tokens) * 1000 / rate) end
return {allowed, math.floor(tokens), resetMs, retryMs}`;

type WithTake = RedisClient & {
  heraldTokenBucketTake(key: string, rate: number, burst: number): Promise<[number, number, number, number]>;
};

/** A token bucket per caller in Redis: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  private readonly redis: WithTake;

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
  ) {
    if (!('heraldTokenBucketTake' in redis))
      redis.defineCommand('heraldTokenBucketTake', { numberOfKeys: 1, lua: TAKE });
    this.redis = redis as WithTake;
  }

  async take(caller: string, rate: number, burst: number): Promise<BucketDecision> {
    const [allowed, remaining, resetMs, retryAfterMs] = await this.redis.heraldTokenBucketTake(
      `${this.keyPrefix}:${caller}`,
      rate,
      burst,
    );
    return { allowed: allowed === 1, remaining, resetMs, retryAfterMs };
  }
}
