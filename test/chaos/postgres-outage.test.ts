import { migrate } from '../../libs/db/src/migrate';
import { createDatabase } from '../helpers/databases';
import { ChaosPostgres } from '../helpers/chaos-servers';
import { startHerald, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// Ingest and the other routes while Postgres is down: 503 problem+json with Retry-After, answered
// within the pool's connection timeout (not a 500, not a hang), and 202 again once it is back.

const ANSWER_WITHIN_MS = 20_000;

describe('the api while Postgres is down', () => {
  let pg: ChaosPostgres;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let inboxToken: string;
  let eventId: string;

  beforeAll(async () => {
    pg = await ChaosPostgres.start();
    await createDatabase(pg.url(), 'herald');
    await migrate(pg.url('herald'));
    herald = await startHerald({
      roles: ['relay', 'fanout', 'inapp'],
      env: { DATABASE_URL: pg.url('herald'), HERALD_QUEUE_PREFIX: `${process.env.HERALD_QUEUE_PREFIX}-pgout` },
    });
    tenant = await createTenant(herald.url);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule)).status).toBe(200);
    inboxToken = (await tenant.admin('POST', '/v1/subscribers/pia/inbox-token')).body.token;
    const first = await tenant.ingest('POST', '/v1/events', event('before'));
    expect(first.status).toBe(202);
    eventId = first.body.id;
    await waitForDeliveries(tenant.ingest, eventId);
  }, 120_000);
  afterAll(async () => {
    await herald?.close();
    await pg?.destroy();
  });

  const event = (orderId: string) => ({ type: 'order.shipped', to: { subscriberId: 'pia' }, data: { orderId } });

  it('answers 503 problem+json with Retry-After on every route, then 202 again after the restart', async () => {
    await pg.stop();
    const inbox = client(herald.url, inboxToken);
    const calls: [string, () => ReturnType<TestTenant['ingest']>][] = [
      ['POST /v1/events', () => tenant.ingest('POST', '/v1/events', event('during'), { 'idempotency-key': 'k-1' })],
      ['POST /v1/events/batch', () => tenant.ingest('POST', '/v1/events/batch', { events: [event('batch')] })],
      ['GET /v1/events/:id', () => tenant.ingest('GET', `/v1/events/${eventId}`)],
      ['GET /v1/events', () => tenant.admin('GET', '/v1/events?limit=5')],
      ['GET /v1/subscribers', () => tenant.admin('GET', '/v1/subscribers')],
      ['PUT /v1/rules/:type', () => tenant.admin('PUT', '/v1/rules/order.packed', inappRule)],
      ['GET /v1/deliveries', () => tenant.admin('GET', '/v1/deliveries')],
      ['GET /v1/inbox', () => inbox('GET', '/v1/inbox')],
    ];
    for (const [route, call] of calls) {
      const startedAt = Date.now();
      const answer = await Promise.race([
        call(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${route}: no answer in ${ANSWER_WITHIN_MS} ms`)), ANSWER_WITHIN_MS),
        ),
      ]);
      expect({ route, status: answer.status }).toEqual({ route, status: 503 });
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(answer.body).toMatchObject({ status: 503, type: expect.stringContaining('unavailable') });
      expect(Date.now() - startedAt).toBeLessThan(ANSWER_WITHIN_MS);
    }
    const ready = await tenant.ingest('GET', '/health/ready');
    expect(ready.status).toBe(503);

    await pg.start();
    const after = await eventually(
      async () => {
        const answer = await tenant.ingest('POST', '/v1/events', event('after'), { 'idempotency-key': 'k-1' });
        return answer.status === 202 ? answer : undefined;
      },
      30_000,
      'ingest to answer 202 after the restart',
    );
    await waitForDeliveries(tenant.ingest, after.body.id, 'sent', 60_000);
    const titles = (await inbox('GET', '/v1/inbox')).body.items.map((i: { title: string }) => i.title);
    expect(titles.sort()).toEqual(['Order after shipped', 'Order before shipped']);
  }, 240_000);
});
