import fc from 'fast-check';
import { Redis } from 'ioredis';
import { SubscriberRateLimiter } from '@herald/queue';

// Long enough that nothing leaves the window while a property run is in flight.
const LONG_WINDOW_MS = 10_000;
const SHORT_WINDOW_MS = 200;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run through jest so that test/global-setup.ts sets it`);
  return value;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Redis's own clock in ms, floored like the limiter's script, so brackets around a consume are sound. */
async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** N (= jitter.length) distinct members of one key, each started after its own small delay, so arrivals interleave. */
const burst = fc.record({
  limit: fc.integer({ min: 1, max: 10 }),
  jitter: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
});

describe('SubscriberRateLimiter against a real Redis', () => {
  // The run's prefix (removed by the global teardown) in a hash tag of this file's own, so parallel
  // files and runs never share a key.
  const keyPrefix = `{${required('HERALD_QUEUE_PREFIX')}-rl-${process.pid}}:rl`;
  let redis: Redis;
  let limiter: SubscriberRateLimiter;
  let keys = 0;
  const freshKey = () => `subscriber-${++keys}`;
  const card = (key: string) => redis.zcard(`${keyPrefix}:${key}`);

  beforeAll(() => {
    redis = new Redis(required('REDIS_URL'));
    limiter = new SubscriberRateLimiter(redis, keyPrefix);
  });
  afterAll(async () => {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
      if (found.length) await redis.unlink(...found);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  });

  async function consumeWithJitter(key: string, members: string[], jitter: number[], limit: number, windowMs: number) {
    return Promise.all(
      members.map(async (member, i) => {
        await sleep(jitter[i % jitter.length]);
        return limiter.consume(key, member, limit, windowMs);
      }),
    );
  }

  it('lets exactly min(N, limit) of N concurrent members in, and tells the rest how long to wait', async () => {
    await fc.assert(
      fc.asyncProperty(burst, async ({ limit, jitter }) => {
        const key = freshKey();
        const members = jitter.map((_, i) => `delivery-${i}`);
        const decisions = await consumeWithJitter(key, members, jitter, limit, LONG_WINDOW_MS);

        const refused = decisions.filter((d) => !d.allowed);
        expect(decisions.length - refused.length).toBe(Math.min(members.length, limit));
        expect(await card(key)).toBe(Math.min(members.length, limit));
        for (const d of decisions.filter((d) => d.allowed)) expect(d.retryAfterMs).toBe(0);
        for (const d of refused) {
          expect(d.retryAfterMs).toBeGreaterThan(0);
          expect(d.retryAfterMs).toBeLessThanOrEqual(LONG_WINDOW_MS);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('lets deferred members in once they wait, never more than `limit` within one window', async () => {
    // N is capped at 4 × limit so a run needs at most a few windows and the file stays fast.
    const deferred = fc.integer({ min: 1, max: 10 }).chain((limit) =>
      fc.record({
        limit: fc.constant(limit),
        jitter: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: Math.min(40, 4 * limit) }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(deferred, async ({ limit, jitter }) => {
        const key = freshKey();
        let pending = jitter.map((_, i) => `delivery-${i}`);
        // Each round's admissions carry Redis times somewhere in [from, to] of that round.
        const rounds: { from: number; to: number; admitted: number }[] = [];

        for (let round = 0; pending.length > 0; round++) {
          // Each round frees at least one slot; the slack only covers timers firing a hair early.
          if (round > 2 * jitter.length + 10) throw new Error(`still ${pending.length} pending after ${round} rounds`);
          const from = await redisNow(redis);
          const decisions = await consumeWithJitter(key, pending, jitter, limit, SHORT_WINDOW_MS);
          const to = await redisNow(redis);
          const refused = pending.filter((_, i) => !decisions[i].allowed);
          rounds.push({ from, to, admitted: pending.length - refused.length });
          pending = refused;
          if (pending.length > 0) {
            const waits = decisions.filter((d) => !d.allowed).map((d) => d.retryAfterMs);
            for (const wait of waits) expect(wait).toBeGreaterThan(0);
            for (const wait of waits) expect(wait).toBeLessThanOrEqual(SHORT_WINDOW_MS);
            await sleep(Math.min(...waits));
          }
        }

        // Admissions in rounds i..j lie within to(j) - from(i) of each other: when that is shorter
        // than the window, they shared one window and may number at most `limit`.
        for (let i = 0; i < rounds.length; i++) {
          let admitted = 0;
          for (let j = i; j < rounds.length && rounds[j].to - rounds[i].from < SHORT_WINDOW_MS; j++) {
            admitted += rounds[j].admitted;
            expect(admitted).toBeLessThanOrEqual(limit);
          }
        }
        expect(rounds.reduce((sum, r) => sum + r.admitted, 0)).toBe(jitter.length);
      }),
      { numRuns: 20 },
    );
  });

  it('a refused member fits once its retryAfterMs has passed', async () => {
    const key = freshKey();
    await limiter.consume(key, 'first', 1, SHORT_WINDOW_MS);
    const refused = await limiter.consume(key, 'second', 1, SHORT_WINDOW_MS);
    expect(refused.allowed).toBe(false);
    // +2: Redis and the timer both count whole milliseconds, each may round against us by one.
    await sleep(refused.retryAfterMs + 2);
    expect(await limiter.consume(key, 'second', 1, SHORT_WINDOW_MS)).toEqual({ allowed: true, retryAfterMs: 0 });
  });

  it('counts a member once however often, and however concurrently, it is consumed', async () => {
    const repeated = fc.record({
      limit: fc.integer({ min: 1, max: 10 }),
      // Indexes into a pool of 12 members, so repeats are common.
      picks: fc.array(fc.integer({ min: 0, max: 11 }), { minLength: 1, maxLength: 40 }),
      jitter: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
    });
    await fc.assert(
      fc.asyncProperty(repeated, async ({ limit, picks, jitter }) => {
        const key = freshKey();
        const members = picks.map((p) => `delivery-${p}`);
        const distinct = [...new Set(members)];
        const decisions = await consumeWithJitter(key, members, jitter, limit, LONG_WINDOW_MS);

        const allowedBy = new Map<string, boolean>();
        members.forEach((member, i) => {
          // Every consume of one member agrees with its first: nothing leaves this long window.
          const first = allowedBy.get(member) ?? decisions[i].allowed;
          expect(decisions[i].allowed).toBe(first);
          allowedBy.set(member, first);
        });
        const allowed = distinct.filter((m) => allowedBy.get(m));
        expect(allowed).toHaveLength(Math.min(distinct.length, limit));
        expect(await card(key)).toBe(allowed.length);

        // A redelivery of every member later on: the allowed stay allowed, the count stays put.
        for (const member of distinct) {
          const again = await limiter.consume(key, member, limit, LONG_WINDOW_MS);
          expect(again.allowed).toBe(allowedBy.get(member));
        }
        expect(await card(key)).toBe(allowed.length);
      }),
      { numRuns: 30 },
    );
  });

  it('keeps separate keys independent, even for the same member ids', async () => {
    const perKey = fc.array(fc.record({ limit: fc.integer({ min: 1, max: 10 }), n: fc.integer({ min: 0, max: 15 }) }), {
      minLength: 2,
      maxLength: 4,
    });
    await fc.assert(
      fc.asyncProperty(perKey, fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1 }), async (specs, jitter) => {
        const keyed = specs.map((spec) => ({ ...spec, key: freshKey() }));
        // All keys' consumes in one interleaved burst, with the same delivery ids on every key.
        const calls = keyed.flatMap(({ key, limit, n }) =>
          Array.from({ length: n }, (_, i) => ({ key, limit, member: `delivery-${i}` })),
        );
        const decisions = await Promise.all(
          calls.map(async ({ key, limit, member }, i) => {
            await sleep(jitter[i % jitter.length]);
            return { key, decision: await limiter.consume(key, member, limit, LONG_WINDOW_MS) };
          }),
        );

        for (const { key, limit, n } of keyed) {
          const allowed = decisions.filter((d) => d.key === key && d.decision.allowed).length;
          expect(allowed).toBe(Math.min(n, limit));
          expect(await card(key)).toBe(Math.min(n, limit));
        }
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a limit or window that is not a positive integer', async () => {
    await expect(limiter.consume(freshKey(), 'd', 0, 1000)).rejects.toThrow(RangeError);
    await expect(limiter.consume(freshKey(), 'd', 1, 0.5)).rejects.toThrow(RangeError);
  });
});
