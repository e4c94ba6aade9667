import { migrate } from '../../libs/db/src/migrate';
import { createDatabase } from '../helpers/databases';
import { ChaosPostgres } from '../helpers/chaos-servers';
import { startHerald, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// Ingest and the other routes while Postgres is down (killed: SIGKILL of the postmaster and its
// backends, fsync on): 503 problem+json with Retry-After, answered within the pool's connection
// timeout (not a 500, not a hang). Once Postgres is back from crash recovery, 503 only until the
// api reports itself ready, then 202 at once; every 202 delivered, nothing a 503 refused stored.

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

  it('answers 503 problem+json with Retry-After on every route, then 202 again after crash recovery', async () => {
    expect(await pg.crash()).toBe('SIGKILL');
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
      let timer: NodeJS.Timeout | undefined;
      const answer = await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`${route}: no answer in ${ANSWER_WITHIN_MS} ms`)),
            ANSWER_WITHIN_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      expect({ route, status: answer.status }).toEqual({ route, status: 503 });
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(answer.body).toMatchObject({ status: 503, type: expect.stringContaining('unavailable') });
      expect(Date.now() - startedAt).toBeLessThan(ANSWER_WITHIN_MS);
    }
    const ready = await tenant.ingest('GET', '/health/ready');
    expect(ready.status).toBe(503);

    // Back, through crash recovery (the WAL replayed: the event answered 202 before is still there).
    await pg.start();
    expect(await pg.recoveries()).toBe(1);
    // Until the api reports itself ready again, it may refuse (503) but answer nothing else; what it
    // accepts meanwhile (202) must be delivered like any other event.
    const recovering: { status: number; id?: string }[] = [];
    await eventually(
      async () => {
        const answer = await tenant.ingest('POST', '/v1/events', event(`recovering-${recovering.length}`));
        recovering.push({ status: answer.status, id: answer.body?.id });
        return (await tenant.ingest('GET', '/health/ready')).status === 200 ? true : undefined;
      },
      60_000,
      'the api to report itself ready after the restart',
    );
    expect(recovering.filter((a) => a.status !== 202 && a.status !== 503)).toEqual([]);
    // Ready means ready: 202 at once, no more refusals. The key refused during the outage is free (nothing was stored).
    const after = await tenant.ingest('POST', '/v1/events', event('after'), { 'idempotency-key': 'k-1' });
    expect(after.status).toBe(202);
    await waitForDeliveries(tenant.ingest, after.body.id, 'sent', 60_000);
    const accepted = recovering.filter((a) => a.status === 202);
    for (const { id } of accepted) await waitForDeliveries(tenant.ingest, id!, 'sent', 60_000);

    // Exactly what was answered 202 reached the inbox: nothing a 503 refused.
    const titles = (await inbox('GET', '/v1/inbox?limit=100')).body.items.map((i: { title: string }) => i.title);
    const expected = [
      'Order before shipped',
      ...recovering.flatMap((a, i) => (a.status === 202 ? [`Order recovering-${i} shipped`] : [])),
      'Order after shipped',
    ];
    expect(titles.sort()).toEqual(expected.sort());
  }, 240_000);
});
