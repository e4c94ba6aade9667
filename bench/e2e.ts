import type { Pool } from 'pg';
import { commandsProcessed, sampleEvent } from './baselines';
import { createTenant, createTopic, sendBatch, sendEvent, until, type Api } from './herald';
import { paced, type LoadResult } from './load';
import type { NodeProcess } from './processes';

export interface Cost {
  pgCommits: number;
  redisCommands: number;
}

export interface Throughput {
  events: number;
  fanout: number;
  /** in-app messages written per second, first event accepted → last message sent */
  inappPerSecond: number;
  /** webhook deliveries the sandbox receiver acknowledged, per second, over the same span */
  webhookPerSecond: number;
  seconds: number;
  /**
   * What one delivery cost, counted rather than timed, so it does not drift with the machine's load:
   * Postgres transactions committed and Redis commands processed over the run (api, relay, fan-out and
   * delivery together) per delivery — in-app and webhook deliveries both count, so at fan-out 1 an event
   * is two deliveries. `raw` is everything counted; `net` leaves out what the same processes do when idle
   * (relay and housekeeping polls, BullMQ's own timers), measured over a quiet window just before.
   */
  perDelivery: { raw: Cost; net: Cost };
}

/** Counts of the tenant's sent deliveries by channel, and of its inbox messages. */
async function progress(pool: Pool, tenantId: string) {
  const { rows } = await pool.query<{ inapp: number; webhook: number; messages: number }>(
    `SELECT count(*) FILTER (WHERE channel = 'inapp' AND status = 'sent')::int AS inapp,
            count(*) FILTER (WHERE channel = 'webhook' AND status = 'sent')::int AS webhook,
            (SELECT count(*)::int FROM inbox_messages WHERE tenant_id = $1) AS messages
     FROM deliveries WHERE tenant_id = $1`,
    [tenantId],
  );
  return rows[0];
}

/**
 * Waits until the tenant has `expected` in-app messages (and webhook deliveries); throws — the smoke
 * test's failure — when Herald does not get there in time. Returns how many times it looked (each look
 * is a transaction of the harness's own, not Herald's).
 */
export async function waitDelivered(
  pool: Pool,
  tenantId: string,
  expected: { inapp: number; webhook: number },
  timeoutMs: number,
): Promise<number> {
  let last = { inapp: 0, webhook: 0, messages: 0 };
  let looks = 0;
  try {
    await until(
      async () => {
        looks++;
        last = await progress(pool, tenantId);
        return last.inapp >= expected.inapp && last.messages >= expected.inapp && last.webhook >= expected.webhook;
      },
      timeoutMs,
      'deliveries',
    );
    return looks;
  } catch {
    throw new Error(
      `Herald did not deliver: after ${timeoutMs / 1000} s, ${last.inapp}/${expected.inapp} in-app sent ` +
        `(${last.messages} inbox messages) and ${last.webhook}/${expected.webhook} webhooks sent`,
    );
  }
}

interface Counters {
  commits: number;
  commands: number;
  at: number;
}

/** Commits in this database and commands Redis processed so far (the counters the cost per delivery is read from). */
async function counters(pool: Pool, redisUrl: string): Promise<Counters> {
  // Postgres publishes a backend's counts when it goes idle, at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const { rows } = await pool.query<{ commits: string }>(
    'SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()',
  );
  return { commits: Number(rows[0].commits), commands: await commandsProcessed(redisUrl), at: performance.now() };
}

/** Commits and commands per second while Herald's processes idle (the harness's own reads taken out). */
async function idleRate(pool: Pool, redisUrl: string, seconds = 5): Promise<Cost> {
  const a = await counters(pool, redisUrl);
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const b = await counters(pool, redisUrl);
  const elapsed = (b.at - a.at) / 1000;
  // one harness read (the second counters) sits between them; a Redis INFO is one command each
  return { pgCommits: (b.commits - a.commits - 1) / elapsed, redisCommands: (b.commands - a.commands - 2) / elapsed };
}

/** Rate of the tenant's `channel` deliveries over first event accepted → last one sent, by the database's clock. */
async function rateOf(pool: Pool, tenantId: string, channel: string): Promise<{ n: number; seconds: number }> {
  const { rows } = await pool.query<{ n: number; seconds: number }>(
    `SELECT count(*)::int AS n,
            extract(epoch FROM max(d.sent_at) - (SELECT min(created_at) FROM events WHERE tenant_id = $1))::float AS seconds
     FROM deliveries d WHERE d.tenant_id = $1 AND d.channel = $2 AND d.status = 'sent'`,
    [tenantId, channel],
  );
  return rows[0];
}

/**
 * End to end: `events` events of `fanout` recipients each, sent through the batch endpoint as fast
 * as it takes them, to a rule with in-app and webhook channels (one webhook per event, to the
 * bench's receiver); measured until the last delivery is sent.
 */
export async function endToEnd(
  api: Api,
  pool: Pool,
  opts: { events: number; fanout: number; webhookUrl: string; timeoutMs: number; label: string; redisUrl: string },
): Promise<Throughput> {
  const tenant = await createTenant(api.url, `bench-${opts.label}-${Date.now()}`, opts.webhookUrl);
  const idle = await idleRate(pool, opts.redisUrl);
  const before = await counters(pool, opts.redisUrl);
  const perBatch = Math.max(1, Math.floor(500 / opts.fanout));
  const batches: object[][] = [];
  for (let i = 0; i < opts.events; i += perBatch) {
    batches.push(
      Array.from({ length: Math.min(perBatch, opts.events - i) }, (_, j) => sampleEvent(opts.fanout, `${i + j}`)),
    );
  }
  // Two requests in flight: the api groups them; more would only queue in front of Postgres.
  const senders = [0, 1].map(async (lane) => {
    for (let b = lane; b < batches.length; b += 2) await sendBatch(api.url, tenant, batches[b]);
  });
  await Promise.all(senders);
  const looks = await waitDelivered(
    pool,
    tenant.id,
    { inapp: opts.events * opts.fanout, webhook: opts.events },
    opts.timeoutMs,
  );
  const inapp = await rateOf(pool, tenant.id, 'inapp');
  const webhook = await rateOf(pool, tenant.id, 'webhook');
  const after = await counters(pool, opts.redisUrl);
  const deliveries = inapp.n + webhook.n;
  // The harness's own transactions in between: the first counters read, the looks, the two rates.
  const harnessCommits = 1 + looks + 2;
  const raw = {
    pgCommits: (after.commits - before.commits - harnessCommits) / deliveries,
    redisCommands: (after.commands - before.commands) / deliveries,
  };
  const idleSeconds = (after.at - before.at) / 1000;
  return {
    perDelivery: {
      raw,
      net: {
        pgCommits: raw.pgCommits - (idle.pgCommits * idleSeconds) / deliveries,
        redisCommands: raw.redisCommands - (idle.redisCommands * idleSeconds) / deliveries,
      },
    },
    events: opts.events,
    fanout: opts.fanout,
    inappPerSecond: inapp.n / inapp.seconds,
    webhookPerSecond: webhook.n / webhook.seconds,
    seconds: inapp.seconds,
  };
}

export interface Latency {
  offeredPerSecond: number;
  /** what the load generator got accepted */
  achievedPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  sent: number;
}

/** p50/p99 of trigger → sent (ms) over the tenant's sent deliveries. */
async function triggerToSent(pool: Pool, tenantId: string): Promise<{ p50: number; p99: number; n: number }> {
  const { rows } = await pool.query<{ p50: number; p99: number; n: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            count(*)::int AS n
     FROM (SELECT extract(epoch FROM d.sent_at - e.created_at) * 1000 AS ms
           FROM deliveries d JOIN events e ON e.id = d.event_id
           WHERE d.tenant_id = $1 AND d.status = 'sent') t`,
    [tenantId],
  );
  return rows[0];
}

/** Trigger → sent of in-app deliveries (fan-out 1) at a fixed offered load through POST /v1/events. */
export async function latencyAt(
  api: Api,
  pool: Pool,
  opts: { rate: number; seconds: number; connections: number; timeoutMs: number },
): Promise<Latency> {
  const tenant = await createTenant(api.url, `bench-latency-${Date.now()}`);
  const offered: LoadResult = await paced({
    url: `${api.url}/v1/events`,
    body: JSON.stringify(sampleEvent(1, 'latency')),
    headers: { authorization: `Bearer ${tenant.ingestKey}` },
    seconds: opts.seconds,
    connections: opts.connections,
    rate: opts.rate,
    uniqueKeys: true,
  });
  await waitDelivered(pool, tenant.id, { inapp: offered.ok, webhook: 0 }, opts.timeoutMs);
  const { p50, p99, n } = await triggerToSent(pool, tenant.id);
  return { offeredPerSecond: opts.rate, achievedPerSecond: offered.rps, p50Ms: p50, p99Ms: p99, sent: n };
}

export interface TopicSend {
  recipients: number;
  deliveriesPerSecond: number;
  seconds: number;
  /** the worker's RSS while it ran (MB; samples every 200 ms) */
  workerRssMb: { p50: number; max: number; samples: number };
  /** a small tenant's single events, sent beside the broadcast: its trigger → sent */
  smallTenant: { sent: number; p50Ms: number; p99Ms: number; perSecond: number };
}

/**
 * One event to a topic of `recipients` members (a broadcast), while another tenant sends single events
 * at `smallRate`/s until the broadcast is done (docs/batching.md, "Lanes": one tenant's broadcast must not hold
 * back another's password reset). The topic is filled before the clock starts.
 */
export async function topicSend(
  api: Api,
  pool: Pool,
  worker: NodeProcess,
  opts: { recipients: number; smallRate: number; timeoutMs: number },
): Promise<TopicSend> {
  const big = await createTenant(api.url, `bench-topic-${Date.now()}`);
  const small = await createTenant(api.url, `bench-small-${Date.now()}`);
  await createTopic(api.url, big, 'everyone', opts.recipients);
  const samplesFrom = worker.rss.samples.length;
  await sendEvent(api.url, big, { type: 'order.shipped', to: { topic: 'everyone' }, data: { orderId: 'B' } });
  let broadcasting = true;
  let smallSent = 0;
  const trickle = (async () => {
    const gap = 1000 / opts.smallRate;
    for (let next = performance.now(); broadcasting; next += gap) {
      await sendEvent(api.url, small, sampleEvent(1, `small-${smallSent++}`));
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, next + gap - performance.now())));
    }
  })();
  try {
    await waitDelivered(pool, big.id, { inapp: opts.recipients, webhook: 0 }, opts.timeoutMs);
  } finally {
    broadcasting = false;
    await trickle;
  }
  await waitDelivered(pool, small.id, { inapp: smallSent, webhook: 0 }, opts.timeoutMs);
  const rate = await rateOf(pool, big.id, 'inapp');
  const smallLatency = await triggerToSent(pool, small.id);
  const rss = worker.rss.samples.slice(samplesFrom).sort((a, b) => a - b);
  return {
    recipients: opts.recipients,
    deliveriesPerSecond: rate.n / rate.seconds,
    seconds: rate.seconds,
    workerRssMb: { p50: rss[Math.floor(rss.length / 2)] ?? 0, max: rss[rss.length - 1] ?? 0, samples: rss.length },
    smallTenant: { sent: smallLatency.n, p50Ms: smallLatency.p50, p99Ms: smallLatency.p99, perSecond: opts.smallRate },
  };
}
