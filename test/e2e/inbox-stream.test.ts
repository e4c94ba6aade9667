import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { openStream } from '../helpers/sse';
import { createTenant, inappRule } from '../helpers/tenant';

describe('live inbox stream across api replicas', () => {
  let isolated: IsolatedEnv;
  let apiA: RunningHerald;
  let apiB: RunningHerald;
  let workers: RunningHerald;

  beforeAll(async () => {
    isolated = await isolatedEnv('stream');
    apiA = await startHerald({ roles: [], env: isolated.env });
    apiB = await startHerald({ roles: [], env: isolated.env });
    workers = await startHerald({ api: false, env: isolated.env });
  });
  afterAll(async () => {
    await Promise.all([apiA.close(), apiB.close(), workers.close()]);
    await isolated.drop();
  });

  it('a stream on one api sees a message ingested through the other, and nothing of other subscribers', async () => {
    const tenant = await createTenant(apiA.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    const token = (await tenant.admin('POST', '/v1/subscribers/sam/inbox-token')).body.token;
    const stream = await openStream(`${apiA.url}/v1/inbox/stream`, { authorization: `Bearer ${token}` });
    try {
      const ingestB = client(apiB.url, tenant.keys.ingest);
      await ingestB('POST', '/v1/events', {
        type: 'order.shipped',
        to: { subscriberId: 'someone-else' },
        data: { orderId: 'X' },
      });
      await ingestB('POST', '/v1/events', {
        type: 'order.shipped',
        to: { subscriberId: 'sam' },
        data: { orderId: 'S-1' },
      });
      // Generous: with every suite running at once on two cores, the pipeline can take seconds.
      const message = await stream.next(30_000);
      expect(JSON.parse(message.data)).toMatchObject({ title: 'Order S-1 shipped' });
      expect(message.id).toBe(JSON.parse(message.data).id);
    } finally {
      stream.close();
    }
  });

  it('refuses a stream without a valid token', async () => {
    await expect(openStream(`${apiA.url}/v1/inbox/stream?token=hit_forged.x`)).rejects.toThrow('stream answered 401');
  });
});
