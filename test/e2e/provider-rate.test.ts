import { Pool } from 'pg';
import { WebhookReceiver } from '@herald/sandbox';
import { freePort } from '../../libs/dev-services/src/free-port';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { parseMetrics } from '../helpers/prometheus';
import { createTenant, type TestTenant } from '../helpers/tenant';

// PROVIDER_RATE_WEBHOOK=5/1s with two webhook workers taking from the queue side by side, counted where
// the provider would count: the receiver's own request times.
//
// The cap is a sliding-window log in Redis shared by every worker (RateLimitGate.providerSlot): a send waits
// until fewer than `max` sends began within the last `duration`. So n sends take at least ⌈n/max⌉ - 1
// windows, and no `duration` holds more than `max` starts. Between a send's start and its request reaching
// the receiver there is the HTTP call; the bounds below allow that time to vary by up to a window.
const MAX = 5;
const DURATION_MS = 1000;
const EVENTS = 40;

describe(`PROVIDER_RATE_WEBHOOK=${MAX}/${DURATION_MS / 1000}s across two worker processes`, () => {
  let isolated: IsolatedEnv;
  let api: RunningHerald;
  const workers: { herald: RunningHerald; url: string }[] = [];
  let tenant: TestTenant;
  let receiver: WebhookReceiver;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('provider-rate');
    const env = { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', PROVIDER_RATE_WEBHOOK: `${MAX}/1s` };
    receiver = await WebhookReceiver.start();
    // Jobs of 5 deliveries, so that both workers have jobs to take.
    api = await startHerald({ roles: ['relay', 'fanout'], env: { ...env, DELIVERY_JOB_SIZE: '5' } });
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const herald = await startHerald({
        api: false,
        roles: ['webhook'],
        env: { ...env, WORKER_HEALTH_PORT: String(port) },
      });
      workers.push({ herald, url: `http://127.0.0.1:${port}` });
    }
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 2 });
    tenant = await createTenant(api.url);
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', {
      url: receiver.urlFor('/hooks/capped'),
      eventTypes: ['order.shipped'],
    });
    expect(endpoint.status).toBe(201);
    receiver.setSecret(endpoint.body.secret);
    const rule = { channels: [{ channel: 'webhook', template: {} }] };
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.herald.close()));
    await api?.close();
    await receiver?.stop();
    await pool?.end();
    await isolated?.drop();
  });

  it(`${EVENTS} webhooks at once reach the endpoint no faster than ${MAX} a second, however many workers send`, async () => {
    const events = Array.from({ length: EVENTS }, (_, i) => ({
      type: 'order.shipped',
      to: { subscriberId: `r-${i}` },
      data: { orderId: `R-${i}` },
    }));
    const sent = await tenant.ingest('POST', '/v1/events/batch', { events });
    expect(sent.status).toBe(207);
    await eventually(
      async () => {
        const { rows } = await pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND status = 'sent'`,
          [tenant.id],
        );
        return rows[0].n === EVENTS ? true : undefined;
      },
      120_000,
      `${EVENTS} webhooks sent`,
    );

    const requests = receiver.requests();
    expect(requests.map((r) => r.status)).toEqual(Array(EVENTS).fill(200));
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(EVENTS);
    const at = requests.map((r) => r.at.getTime()).sort((a, b) => a - b);
    const timeline = at.map((t) => t - at[0]);
    // ⌈40/5⌉ = 8 windows: the last start is at least 7 windows after the first; one window is left for
    // the variation in start-to-request time.
    const windows = Math.ceil(EVENTS / MAX);
    expect({ span: at[EVENTS - 1] - at[0] >= (windows - 2) * DURATION_MS, timeline }).toEqual({ span: true, timeline });
    // In any one second: one window's worth, plus a window allowed for that variation.
    const busiest = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + DURATION_MS).length));
    expect({ busiest: busiest <= 2 * MAX, timeline }).toEqual({ busiest: true, timeline });

    // Each worker's own /metrics counts what it sent: both took their share of the one budget.
    const sentBy = await Promise.all(
      workers.map(async (w) => {
        const metrics = parseMetrics(await (await fetch(`${w.url}/metrics`)).text());
        return metrics.value('herald_deliveries_total', { channel: 'webhook', outcome: 'sent' });
      }),
    );
    expect(sentBy[0] + sentBy[1]).toBe(EVENTS);
    expect(sentBy.every((n) => n > 0)).toBe(true);
  });
});
