import type { RedisClient } from './redis';

export interface RateDecision {
  allowed: boolean;
  /** ms until one more send fits the window (0 when allowed) */
  retryAfterMs: number;
}

// One script, so trimming, the idempotency check, counting and adding happen without another
// worker's consume slipping in between (a read-then-write from Node would let two workers both
// see `limit - 1` and both add).
const CONSUME = `
-- Redis < 5 refuses writes after TIME unless the script is replicated by its effects; later
-- versions always do this, and the call is then a no-op.
if redis.replicate_commands then redis.replicate_commands() end
local key, member = KEYS[1], ARGV[1]
local limit, windowMs = tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- Inclusive bound: an entry exactly windowMs old is out, which is what the retry hint below promises.
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
if redis.call('ZSCORE', key, member) then
  return {1, 0}
end
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, member)
  -- The newest entry is the last to leave the window, so the key never outlives it.
  redis.call('PEXPIRE', key, windowMs)
  return {1, 0}
end
-- count - limit + 1 entries must leave before one more fits; the youngest of them is at this index.
local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
local retryAfter = tonumber(entry[2]) + windowMs - now
if retryAfter < 1 then retryAfter = 1 end
return {0, retryAfter}
`;

// ioredis keeps defined scripts per client and sends EVALSHA, falling back to EVAL on NOSCRIPT
// (after a Redis restart or failover), so the script body crosses the wire once per server.
const COMMAND = 'heraldSubscriberRateLimitConsume';

// What defineCommand adds to the client at run time; ioredis's types cannot know it.
interface WithConsume {
  [COMMAND](key: string, member: string, limit: number, windowMs: number): Promise<[number, number]>;
}

/** Sliding-window log per key in a Redis sorted set: members are delivery ids, scores Redis time in ms. */
export class SubscriberRateLimiter {
  private readonly redis: WithConsume;

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
  ) {
    // Several limiters may share one client, which needs the script defined only once.
    if (typeof (redis as unknown as Partial<WithConsume>)[COMMAND] !== 'function') {
      redis.defineCommand(COMMAND, { numberOfKeys: 1, lua: CONSUME });
    }
    this.redis = redis as unknown as WithConsume;
  }

  /**
   * Counts `member` (a delivery id) in the window of `key` if fewer than `limit` members are in it.
   * Idempotent per member: a member already counted in the current window is allowed again without
   * counting twice (a redelivered job must not eat a second slot). Uses Redis server time (TIME), so
   * workers with skewed clocks agree.
   */
  async consume(key: string, member: string, limit: number, windowMs: number): Promise<RateDecision> {
    // PEXPIRE rejects fractions and a limit below 1 would have no entry to compute a retry from.
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    if (!Number.isInteger(windowMs) || windowMs < 1) {
      throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
    }
    const [allowed, retryAfterMs] = await this.redis[COMMAND](`${this.keyPrefix}:${key}`, member, limit, windowMs);
    return { allowed: allowed === 1, retryAfterMs };
  }
}
