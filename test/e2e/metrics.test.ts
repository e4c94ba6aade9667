import { QueueName } from '@herald/queue';
import { freePort } from '../../libs/dev-services/src/free-port';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { parseMetrics, type Scrape } from '../helpers/prometheus';
import { ThrowawayRedis } from '../helpers/redis-server';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const inapp = { channel: 'inapp', template: { title: 'Order {{ data.orderId }}', body: 'On its way' } };
const email = { channel: 'email', template: { subject: 'Order {{ data.orderId }}', text: 'On its way' } };
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'];
// Every label a Herald metric may carry: bounded sets, never an id.
const HERALD_LABELS = new Set(['channel', 'outcome', 'queue', 'state', 'provider', 'policy', 'le']);

async function scrape(baseUrl: string): Promise<Scrape> {
  const answer = await fetch(`${baseUrl}/metrics`);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await answer.text());
}

describe('/metrics and /health on the api (all-in-one)', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let seq = 0;

  beforeAll(async () => {
    isolated = await isolatedEnv('metrics');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    for (const [type, channels] of [
      ['metrics.inapp', [inapp]],
      ['metrics.email', [email]],
      ['metrics.limited', [{ ...inapp, rateLimit: { limit: 1, windowSeconds: 60, policy: 'drop' } }]],
    ] as const) {
      expect((await tenant.admin('PUT', `/v1/rules/${type}`, { channels })).status).toBe(200);
    }
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  async function send(type: string, to: object, key?: string): Promise<string> {
    const body = { type, to, data: { orderId: key ?? `M-${++seq}` } };
    const answer = await tenant.ingest('POST', '/v1/events', body, key ? { 'idempotency-key': key } : {});
    expect(answer.status).toBe(202);
    return answer.body.id;
  }

  it('parses as Prometheus text, and its counters move by exactly the deliveries made', async () => {
    const before = await scrape(herald.url);
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push(await send('metrics.inapp', { subscriberId: `m-${n}` }, `m-${n}`));
    // A replay of an Idempotency-Key is the same event: not accepted twice, not delivered twice.
    expect(await send('metrics.inapp', { subscriberId: 'm-0' }, 'm-0')).toBe(ids[0]);
    for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');

    const after = await scrape(herald.url);
    const moved = (name: string, labels?: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(moved('herald_events_accepted_total')).toBe(3);
    expect(moved('herald_deliveries_total', { channel: 'inapp', outcome: 'sent' })).toBe(3);
    expect(moved('herald_delivery_latency_seconds_count', { channel: 'inapp' })).toBe(3);
    expect(after.value('herald_delivery_latency_seconds_sum', { channel: 'inapp' })).toBeGreaterThan(0);
    expect(after.families.get('herald_events_accepted_total')?.type).toBe('COUNTER');
    expect(after.families.get('herald_delivery_latency_seconds')?.type).toBe('HISTOGRAM');
  });

  it('times the provider call, reports the outbox lag and every queue, with bounded labels only', async () => {
    const before = await scrape(herald.url);
    const id = await send('metrics.email', { subscriberId: 'mel', email: 'mel@example.com' });
    await waitForDeliveries(tenant.ingest, id, 'sent');
    const metrics = await scrape(herald.url);

    // One SMTP call, answered ok: one more observation, in the +Inf bucket as in every other.
    const email = { channel: 'email', provider: 'smtp', outcome: 'ok' };
    const count = (scrape: Scrape) => scrape.value('herald_provider_latency_seconds_count', email);
    expect(count(metrics) - count(before)).toBe(1);
    expect(metrics.value('herald_provider_latency_seconds_bucket', { ...email, le: '+Inf' })).toBe(count(metrics));
    expect(metrics.value('herald_provider_latency_seconds_sum', email)).toBeGreaterThan(
      before.value('herald_provider_latency_seconds_sum', email),
    );
    expect(metrics.value('herald_deliveries_total', { channel: 'email', outcome: 'sent' })).toBe(1);

    // Every event so far is delivered, so none waits in the outbox (its lag under load: the worker suite).
    const lag = metrics.series.filter((s) => s.name === 'herald_outbox_lag_seconds');
    expect(lag).toEqual([{ name: 'herald_outbox_lag_seconds', labels: {}, value: 0 }]);
    for (const queue of Object.values(QueueName)) {
      for (const state of JOB_STATES) {
        expect(metrics.series).toContainEqual({
          name: 'herald_queue_jobs',
          labels: { queue, state },
          value: expect.any(Number),
        });
      }
    }
    for (const name of [
      'herald_deliveries_total',
      'herald_rate_limit_deferrals_total',
      'herald_provider_latency_seconds',
    ]) {
      expect(metrics.families.has(name)).toBe(true);
    }

    const herald_ = metrics.series.filter((s) => s.name.startsWith('herald_') && !s.name.startsWith('herald_nodejs_'));
    for (const { name, labels } of herald_.filter((s) => !s.name.startsWith('herald_process_'))) {
      for (const [label, value] of Object.entries(labels)) {
        expect([name, label, HERALD_LABELS.has(label)]).toEqual([name, label, true]);
        expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
      }
    }
  });

  it('counts rate-limit drops, by channel and policy', async () => {
    const before = await scrape(herald.url);
    const ids = [
      await send('metrics.limited', { subscriberId: 'lim' }),
      await send('metrics.limited', { subscriberId: 'lim' }),
    ];
    await eventually(async () => {
      const statuses = await Promise.all(
        ids.map(async (id) => (await tenant.ingest('GET', `/v1/events/${id}`)).body.deliveries?.[0]?.status),
      );
      return statuses.sort().join() === 'rate_limited,sent' ? true : undefined;
    });
    const after = await scrape(herald.url);
    const moved = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(moved('herald_rate_limit_deferrals_total', { channel: 'inapp', policy: 'drop' })).toBe(1);
    expect(moved('herald_deliveries_total', { channel: 'inapp', outcome: 'rate_limited' })).toBe(1);
    expect(moved('herald_deliveries_total', { channel: 'inapp', outcome: 'sent' })).toBe(1);
  });

  it('answers /health/live and /health/ready with the checks it made', async () => {
    const http = client(herald.url);
    expect(await http('GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await http('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: {
        postgres: expect.objectContaining({ status: 'up' }),
        redis: expect.objectContaining({ status: 'up' }),
      },
    });
  });
});

describe("a worker process's own health and metrics port", () => {
  let isolated: IsolatedEnv;
  let redis: ThrowawayRedis;
  let api: RunningHerald;
  let worker: RunningHerald;
  let workerUrl: string;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('metrics_worker');
    redis = await ThrowawayRedis.start();
    const env = { ...isolated.env, REDIS_URL: redis.url };
    // The api with the relay and fan-out; in-app deliveries happen only in the worker-only process.
    api = await startHerald({ roles: ['relay', 'fanout'], env });
    const port = await freePort();
    worker = await startHerald({ api: false, roles: ['inapp'], env: { ...env, WORKER_HEALTH_PORT: String(port) } });
    workerUrl = `http://127.0.0.1:${port}`;
    tenant = await createTenant(api.url);
    expect((await tenant.admin('PUT', '/v1/rules/worker.inapp', { channels: [inapp] })).status).toBe(200);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await redis?.stop();
    await isolated?.drop();
  });

  it('serves /health/live, /health/ready (Postgres and each of its queues) and its own /metrics', async () => {
    const http = client(workerUrl);
    expect(await http('GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await http('GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ok',
      checks: {
        postgres: expect.objectContaining({ status: 'up' }),
        'queue:deliver.inapp': expect.objectContaining({ status: 'up' }),
        'queue:dead-letter': expect.objectContaining({ status: 'up' }),
      },
    });
    expect((await http('GET', '/nowhere')).status).toBe(404);

    const before = await scrape(workerUrl);
    for (const queue of [QueueName.DeliverInapp, QueueName.DeadLetter]) {
      expect(before.series).toContainEqual({
        name: 'herald_queue_jobs',
        labels: { queue, state: 'waiting' },
        value: expect.any(Number),
      });
    }
    expect(before.series.some((s) => s.name === 'herald_outbox_lag_seconds')).toBe(true);

    const ids = [];
    for (const subscriberId of ['w-1', 'w-2']) {
      ids.push((await tenant.ingest('POST', '/v1/events', { type: 'worker.inapp', to: { subscriberId } })).body.id);
    }
    for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');
    const after = await scrape(workerUrl);
    const sent = { channel: 'inapp', outcome: 'sent' };
    expect(after.value('herald_deliveries_total', sent) - before.value('herald_deliveries_total', sent)).toBe(2);
    // Each process counts what it did: ingest happened in the api, the deliveries in the worker.
    expect(after.value('herald_events_accepted_total')).toBe(0);
    const apiMetrics = await scrape(api.url);
    expect(apiMetrics.value('herald_events_accepted_total')).toBe(2);
    expect(apiMetrics.value('herald_deliveries_total', sent)).toBe(0);
  });

  it('answers 503 problem+json naming the failing checks while Redis is down, on the worker and the api', async () => {
    let heldId: string | undefined;
    await redis.stop();
    try {
      const worker503 = await eventually(async () => {
        const answer = await client(workerUrl)('GET', '/health/ready');
        return answer.status === 503 ? answer : undefined;
      });
      expect(worker503.headers.get('content-type')).toContain('application/problem+json');
      expect(worker503.headers.get('retry-after')).toBe('5');
      expect(worker503.body).toMatchObject({
        type: '/problems/not-ready',
        status: 503,
        detail: expect.stringContaining('queue:deliver.inapp'),
        checks: {
          postgres: expect.objectContaining({ status: 'up' }),
          'queue:deliver.inapp': expect.objectContaining({ status: 'down', message: expect.any(String) }),
        },
      });

      const api503 = await client(api.url)('GET', '/health/ready');
      expect(api503.status).toBe(503);
      expect(api503.headers.get('content-type')).toContain('application/problem+json');
      expect(api503.headers.get('retry-after')).toBe('5');
      expect(api503.body).toMatchObject({
        type: '/problems/not-ready',
        detail: expect.stringContaining('redis'),
        checks: { postgres: { status: 'up' }, redis: expect.objectContaining({ status: 'down' }) },
      });
      // Liveness and metrics do not depend on Redis.
      expect((await client(workerUrl)('GET', '/health/live')).status).toBe(200);
      expect((await scrape(workerUrl)).families.has('herald_deliveries_total')).toBe(true);

      // Ingest goes on, but the relay cannot hand the event on: the outbox lag is its age, and grows.
      const sendFrom = Date.now();
      const held = await tenant.ingest('POST', '/v1/events', { type: 'worker.inapp', to: { subscriberId: 'w-3' } });
      const sendBy = Date.now();
      expect(held.status).toBe(202);
      heldId = held.body.id;
      const lagNow = async () => {
        const scrapeFrom = Date.now();
        const lag = (await scrape(api.url)).value('herald_outbox_lag_seconds');
        const scrapeBy = Date.now();
        // the age of a row written between sendFrom and sendBy, read between scrapeFrom and scrapeBy (± rounding)
        expect(lag).toBeGreaterThanOrEqual((scrapeFrom - sendBy - 1) / 1000);
        expect(lag).toBeLessThanOrEqual((scrapeBy - sendFrom + 1) / 1000);
        return lag;
      };
      await lagNow();
      await eventually(async () => ((await lagNow()) >= 1 ? true : undefined), 15_000, 'the outbox lag to pass 1 s');
    } finally {
      await redis.start();
    }
    for (const url of [workerUrl, api.url]) {
      await eventually(async () => ((await client(url)('GET', '/health/ready')).status === 200 ? true : undefined));
    }
    // Redis is back: the relay publishes the held event, and nothing waits in the outbox any more.
    await waitForDeliveries(tenant.ingest, heldId!, 'sent');
    expect((await scrape(api.url)).value('herald_outbox_lag_seconds')).toBe(0);
  });
});
