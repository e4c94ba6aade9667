import { Pool } from 'pg';
import { WebhookReceiver } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, type TestTenant } from '../helpers/tenant';

// docs/guarantees.md: "replay one or every one matching a filter (in batches of 500, FOR UPDATE SKIP LOCKED, …)":
// a filtered replay revives the matching dead deliveries 500 per transaction, until none is left, so
// one replay never locks more than 500 rows at once. Each batch stamps its rows with its transaction's
// time (updated_at), which is how the batches show. The webhook worker is stopped while the replay runs,
// so the revived deliveries stay as the replay left them until the test has looked.
const DEAD = 1100;
const BATCH = 500;

describe(`dead-letter replay of ${DEAD.toLocaleString('en')} dead deliveries`, () => {
  let isolated: IsolatedEnv;
  let env: Record<string, string>;
  let api: RunningHerald;
  let worker: RunningHerald | undefined;
  let tenant: TestTenant;
  let receiver: WebhookReceiver;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('dlq-replay');
    // One attempt each: the first 503 makes a delivery dead.
    env = { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', RETRY_MAX_ATTEMPTS_WEBHOOK: '1' };
    receiver = await WebhookReceiver.start();
    api = await startHerald({ roles: ['relay', 'fanout'], env });
    worker = await startHerald({ api: false, roles: ['webhook'], env });
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 2 });
    tenant = await createTenant(api.url);
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', {
      url: receiver.urlFor('/hooks/down'),
      eventTypes: ['order.shipped'],
    });
    expect(endpoint.status).toBe(201);
    receiver.setSecret(endpoint.body.secret);
    expect(
      (await tenant.admin('PUT', '/v1/rules/order.shipped', { channels: [{ channel: 'webhook', template: {} }] }))
        .status,
    ).toBe(200);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await receiver?.stop();
    await pool?.end();
    await isolated?.drop();
  });

  const countBy = async (sql: string) =>
    Object.fromEntries(
      (await pool.query<{ k: string; n: number }>(sql, [tenant.id])).rows.map((r) => [r.k, r.n] as const),
    );
  const statuses = () =>
    countBy(`SELECT status AS k, count(*)::int AS n FROM deliveries WHERE tenant_id = $1 GROUP BY status`);

  it(`replays each exactly once, in ⌈${DEAD}/${BATCH}⌉ = ${Math.ceil(DEAD / BATCH)} batches`, async () => {
    receiver.respondWith('/hooks/down', 503);
    for (let from = 0; from < DEAD; from += 550) {
      const events = Array.from({ length: Math.min(550, DEAD - from) }, (_, i) => ({
        type: 'order.shipped',
        to: { subscriberId: `d-${from + i}` },
        data: { orderId: `D-${from + i}` },
      }));
      expect((await tenant.ingest('POST', '/v1/events/batch', { events })).status).toBe(207);
    }
    await eventually(
      async () => ((await statuses()).dead === DEAD ? true : undefined),
      180_000,
      `${DEAD} dead deliveries`,
    );
    expect(await statuses()).toEqual({ dead: DEAD });
    await worker!.close();
    worker = undefined;
    receiver.reset();

    const replay = await tenant.admin('POST', '/v1/dead-letters/replay', { channel: 'webhook' });
    expect(replay.status).toBe(202);
    expect(replay.body).toEqual({ replayed: DEAD });
    // Every one revived with a fresh budget (its floor at the attempts it had), by three transactions.
    expect(await statuses()).toEqual({ queued: DEAD });
    const floors = await countBy(
      `SELECT (attempt_floor = attempts AND attempts = 1)::text AS k, count(*)::int AS n
       FROM deliveries WHERE tenant_id = $1 GROUP BY 1`,
    );
    expect(floors).toEqual({ true: DEAD });
    const { rows: batches } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM deliveries WHERE tenant_id = $1 GROUP BY updated_at ORDER BY updated_at`,
      [tenant.id],
    );
    expect(batches.map((b) => b.n)).toEqual([BATCH, BATCH, DEAD - 2 * BATCH]);
    expect((await tenant.admin('GET', '/v1/dead-letters')).body.items).toEqual([]);

    // A webhook worker again: each replayed delivery reaches the endpoint once.
    worker = await startHerald({ api: false, roles: ['webhook'], env });
    await eventually(
      async () => ((await statuses()).sent === DEAD ? true : undefined),
      180_000,
      `${DEAD} replayed deliveries sent`,
    );
    const requests = receiver.requests();
    expect(requests).toHaveLength(DEAD);
    expect(requests.every((r) => r.status === 200 && r.signatureValid)).toBe(true);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(DEAD);
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
       WHERE d.tenant_id = $1`,
      [tenant.id],
    );
    expect(rows[0].n).toBe(2 * DEAD);
  }, 600_000);
});
