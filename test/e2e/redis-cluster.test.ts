import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { ThrowawayRedisCluster } from '../helpers/redis-cluster';
import { openStream } from '../helpers/sse';
import { createTenant, waitForDeliveries } from '../helpers/tenant';

describe('Herald on a Redis Cluster (REDIS_CLUSTER=true)', () => {
  let cluster: ThrowawayRedisCluster;
  let isolated: IsolatedEnv;
  let herald: RunningHerald;

  beforeAll(async () => {
    cluster = await ThrowawayRedisCluster.start();
    isolated = await isolatedEnv('cluster');
    // Seeded with a node that does not hold Herald's keys: only a cluster-aware client gets anywhere.
    const seed = await cluster.urlAvoiding(isolated.env.HERALD_QUEUE_PREFIX);
    herald = await startHerald({
      env: { ...isolated.env, REDIS_URL: seed, REDIS_CLUSTER: 'true', API_RATE_LIMIT_PER_SECOND: '100' },
    });
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await cluster?.stop();
  });

  it('queues, workers, rate limits, the live inbox and health all work across the cluster', async () => {
    const tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/clustered', {
      channels: [
        {
          channel: 'inapp',
          template: { title: 'Order {{ data.orderId }}', body: 'on its way' },
          rateLimit: { limit: 1, windowSeconds: 60, policy: 'drop' },
        },
      ],
    });
    const token = (await tenant.admin('POST', '/v1/subscribers/cleo/inbox-token')).body.token;
    const stream = await openStream(`${herald.url}/v1/inbox/stream`, { authorization: `Bearer ${token}` });
    try {
      const first = await tenant.ingest('POST', '/v1/events', {
        type: 'clustered',
        to: { subscriberId: 'cleo' },
        data: { orderId: 'C-1' },
      });
      expect(first.headers.get('ratelimit-limit')).toBeTruthy();
      await waitForDeliveries(tenant.ingest, first.body.id, 'sent');
      expect(JSON.parse((await stream.next(30_000)).data)).toMatchObject({ title: 'Order C-1' });

      const second = await tenant.ingest('POST', '/v1/events', {
        type: 'clustered',
        to: { subscriberId: 'cleo' },
        data: { orderId: 'C-2' },
      });
      await waitForDeliveries(tenant.ingest, second.body.id, 'rate_limited');
    } finally {
      stream.close();
    }
    const ready = await client(herald.url)('GET', '/health/ready');
    expect(ready.status).toBe(200);
    const metrics = await client(herald.url)('GET', '/metrics');
    expect(metrics.body).toMatch(/herald_queue_jobs\{queue="deliver.inapp",state="waiting"\} 0/);
  });
});
