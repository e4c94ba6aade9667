import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { ThrowawayRedis } from '../helpers/redis-server';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('ingest while Redis is down', () => {
  let isolated: IsolatedEnv;
  let redis: ThrowawayRedis;
  let herald: RunningHerald;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('redis_outage');
    redis = await ThrowawayRedis.start();
    herald = await startHerald({ env: { ...isolated.env, REDIS_URL: redis.url } });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
  });
  afterAll(async () => {
    await herald.close();
    await redis.stop();
    await isolated.drop();
  });

  it('answers 202 with Redis stopped, and delivers once Redis is back (empty)', async () => {
    await redis.stop();
    const sent = await Promise.all(
      [1, 2, 3].map((n) =>
        tenant.ingest(
          'POST',
          '/v1/events',
          { type: 'order.shipped', to: { subscriberId: 'olga' }, data: { orderId: `R-${n}` } },
          { 'idempotency-key': `outage-${n}` },
        ),
      ),
    );
    expect(sent.map((s) => s.status)).toEqual([202, 202, 202]);
    const ready = await tenant.ingest('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toContain('application/problem+json');
    const status = await tenant.ingest('GET', `/v1/events/${sent[0].body.id}`);
    expect(status.body).toMatchObject({ status: 'accepted', deliveries: [] });

    await redis.start();
    for (const answer of sent) await waitForDeliveries(tenant.ingest, answer.body.id, 'sent', 30_000);
    const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=olga');
    expect(inbox.body.items.map((i: { title: string }) => i.title).sort()).toEqual([
      'Order R-1 shipped',
      'Order R-2 shipped',
      'Order R-3 shipped',
    ]);
    expect((await tenant.ingest('GET', '/health/ready')).status).toBe(200);
  });
});
