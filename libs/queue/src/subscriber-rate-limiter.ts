import type { RedisClient } from './redis';

export interface RateDecision {
  allowed: boolean;
  /** ms until one more send fits the window (0 when allowed) */
  retryAfterMs: number;
}

// One script, so trimming, the idempotency check, counting and adding happen without another
// worker's consume slipping in between (a read-then-write from Node would let two workers both
// see `limit - 1` and both add). Many windows in one round trip (a delivery batch): KEYS are the
// windows, ARGV holds member, limit and windowMs for each; items are judged in order, so two of one
// window count right. An entry exactly windowMs old is out, which is what the retry hint promises;
// the newest entry is the last to leave the window, so a key never outlives it. Redis < 5 refuses
// writes after TIME unless the script is replicated by its effects (a no-op in later versions).
const CONSUME_MANY = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local member = ARGV[i * 3 - 2]
  local limit, windowMs = tonumber(ARGV[i * 3 - 1]), tonumber(ARGV[i * 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - windowMs)
  local allowed, retryAfter = 1, 0
  if not redis.call('ZSCORE', key, member) then
    local count = redis.call('ZCARD', key)
    if count < limit then
      redis.call('ZADD', key, now, member)
      redis.call('PEXPIRE', key, windowMs)
    else
      -- count - limit + 1 entries must leave before one more fits; the youngest of them is at this index
      local entry = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
      allowed = 0
      retryAfter = tonumber(entry[2]) + windowMs - now
      if retryAfter < 1 then retryAfter = 1 end
    end
  end
  out[#out + 1] = allowed
  out[#out + 1] = retryAfter
end
return out
`;

// ioredis keeps defined scripts per client and sends EVALSHA, falling back to EVAL on NOSCRIPT
// (after a Redis restart or failover), so the script body crosses the wire once per server.
const COMMAND_MANY = 'heraldSubscriberRateLimitConsumeMany';

// What defineCommand adds to the client at run time; ioredis's types cannot know it.
interface WithConsume {
  [COMMAND_MANY](keyCount: number, ...keysThenArgs: (string | number)[]): Promise<number[]>;
}

export interface RateQuery {
  key: string;
  member: string;
  limit: number;
  windowMs: number;
}

/** Sliding-window log per key in a Redis sorted set: members are delivery ids, scores Redis time in ms. */
export class SubscriberRateLimiter {
  private readonly redis: WithConsume;

  constructor(
    redis: RedisClient,
    private readonly keyPrefix: string,
  ) {
    // Several limiters may share one client, which needs the script defined only once.
    if (typeof (redis as unknown as Partial<WithConsume>)[COMMAND_MANY] !== 'function') {
      // numberOfKeys left out: the caller passes it first, as it varies with the batch
      redis.defineCommand(COMMAND_MANY, { lua: CONSUME_MANY });
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
    const [decision] = await this.consumeMany([{ key, member, limit, windowMs }]);
    return decision!;
  }

  /** consume() for many windows in one round trip (the same window may come more than once). */
  async consumeMany(queries: RateQuery[]): Promise<RateDecision[]> {
    if (queries.length === 0) return [];
    // PEXPIRE rejects fractions and a limit below 1 would have no entry to compute a retry from.
    for (const q of queries) {
      if (!Number.isInteger(q.limit) || q.limit < 1)
        throw new RangeError(`limit must be a positive integer, got ${q.limit}`);
      if (!Number.isInteger(q.windowMs) || q.windowMs < 1) {
        throw new RangeError(`windowMs must be a positive integer, got ${q.windowMs}`);
      }
    }
    const keys = queries.map((q) => `${this.keyPrefix}:${q.key}`);
    const args = queries.flatMap((q) => [q.member, q.limit, q.windowMs]);
    const flat = await this.redis[COMMAND_MANY](keys.length, ...keys, ...args);
    return queries.map((_, i) => ({ allowed: flat[i * 2] === 1, retryAfterMs: flat[i * 2 + 1]! }));
  }
}
