import type { Pool } from 'pg';
import { commandsProcessed, sampleEvent } from './baselines';
import { createTenant, sendBatch, sendEvent, until, type Api } from './herald';
import { load, type LoadResult } from './load';

export interface Throughput {
  events: number;
  fanout: number;
  /** in-app messages written per second, first event accepted → last message sent */
  inappPerSecond: number;
  /** webhook deliveries the sandbox receiver acknowledged, per second, over the same span */
  webhookPerSecond: number;
  seconds: number;
  /**
   * What one delivery (in-app or webhook) cost, counted rather than timed, so it does not drift
   * with the machine's load: Postgres transactions committed and Redis commands processed over the
   * run (api, relay, fan-out and delivery together), per delivery.
   */
  perDelivery: { pgCommits: number; redisCommands: number };
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
 * Waits until every event of the tenant has its `fanout` in-app messages and one webhook delivery
 * (when `webhooks`); throws — the smoke test's failure — when Herald does not get there in time.
 * Returns how many times it looked (each look is a transaction of the harness's own, not Herald's).
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

/** Commits in this database and commands Redis processed so far (the counters the cost per delivery is read from). */
async function counters(pool: Pool, redisUrl: string): Promise<{ commits: number; commands: number }> {
  // Postgres publishes a backend's counts when it goes idle, at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const { rows } = await pool.query<{ commits: string }>(
    'SELECT xact_commit AS commits FROM pg_stat_database WHERE datname = current_database()',
  );
  return { commits: Number(rows[0].commits), commands: await commandsProcessed(redisUrl) };
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
 * sandbox receiver); measured until the last delivery is sent.
 */
export async function endToEnd(
  api: Api,
  pool: Pool,
  opts: { events: number; fanout: number; webhookUrl: string; timeoutMs: number; label: string; redisUrl: string },
): Promise<Throughput> {
  const tenant = await createTenant(api.url, `bench-${opts.label}-${Date.now()}`, opts.webhookUrl);
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
  return {
    perDelivery: {
      pgCommits: (after.commits - before.commits - harnessCommits) / deliveries,
      redisCommands: (after.commands - before.commands) / deliveries,
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

/** Trigger → sent of in-app deliveries (fan-out 1) at a fixed offered load through POST /v1/events. */
export async function latencyAt(
  api: Api,
  pool: Pool,
  opts: { rate: number; seconds: number; connections: number; timeoutMs: number },
): Promise<Latency> {
  const tenant = await createTenant(api.url, `bench-latency-${Date.now()}`);
  const offered: LoadResult = await load({
    url: `${api.url}/v1/events`,
    body: JSON.stringify(sampleEvent(1, 'latency')),
    headers: { authorization: `Bearer ${tenant.ingestKey}` },
    seconds: opts.seconds,
    connections: opts.connections,
    rate: opts.rate,
    uniqueKeys: true,
  });
  await waitDelivered(pool, tenant.id, { inapp: offered.ok, webhook: 0 }, opts.timeoutMs);
  const { rows } = await pool.query<{ p50: number; p99: number; n: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99,
            count(*)::int AS n
     FROM (SELECT extract(epoch FROM d.sent_at - e.created_at) * 1000 AS ms
           FROM deliveries d JOIN events e ON e.id = d.event_id
           WHERE d.tenant_id = $1 AND d.status = 'sent') t`,
    [tenant.id],
  );
  return {
    offeredPerSecond: opts.rate,
    achievedPerSecond: offered.rps,
    p50Ms: rows[0].p50,
    p99Ms: rows[0].p99,
    sent: rows[0].n,
  };
}

export interface BigSend {
  recipients: number;
  deliveriesPerSecond: number;
  seconds: number;
}

/** One big send: `recipients` subscribers as events of 1,000 recipients (the most one event takes). */
export async function bigSend(api: Api, pool: Pool, opts: { recipients: number; timeoutMs: number }): Promise<BigSend> {
  const tenant = await createTenant(api.url, `bench-big-${Date.now()}`);
  const perEvent = Math.min(1000, opts.recipients);
  for (let i = 0; i < opts.recipients; i += perEvent) {
    await sendEvent(api.url, tenant, sampleEvent(Math.min(perEvent, opts.recipients - i), `big${i}`));
  }
  await waitDelivered(pool, tenant.id, { inapp: opts.recipients, webhook: 0 }, opts.timeoutMs);
  const inapp = await rateOf(pool, tenant.id, 'inapp');
  return { recipients: opts.recipients, deliveriesPerSecond: inapp.n / inapp.seconds, seconds: inapp.seconds };
}
