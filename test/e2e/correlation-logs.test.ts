import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isolatedEnv, type IsolatedEnv } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { ensureBuilt, killStarted, processEnv, startProcess, type RunningProcess } from '../helpers/processes';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const CORRELATION_ID = 'order-flow-5c1e9a';

/**
 * The api and a worker as real processes (their stdout is what an operator's log pipeline gets): one
 * event sent with X-Correlation-Id is traceable by that id through the request line, the relay, the
 * fan-out and each delivery, and the webhook receiver gets it too.
 */
describe('the correlation id in the logs of every stage', () => {
  let isolated: IsolatedEnv;
  let receiver: Server;
  const received: IncomingHttpHeaders[] = [];
  let api: RunningProcess;
  let worker: RunningProcess;
  let tenant: TestTenant;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('correlation-logs');
    receiver = createServer((req, res) => {
      received.push(req.headers);
      req.resume().on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const env = processEnv({ ...isolated.env, LOG_LEVEL: 'debug', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    api = startProcess('api', [], env);
    worker = startProcess('worker', ['--roles', 'relay,fanout,inapp,webhook'], env);
    const { port } = (await api.waitForLog((line) => String(line.msg).startsWith('api listening'), 60_000)) as {
      port: number;
    };
    await worker.waitForLog((line) => String(line.msg).startsWith('worker running roles'), 60_000);
    tenant = await createTenant(`http://127.0.0.1:${port}`);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    expect((await tenant.admin('POST', '/v1/webhook-endpoints', { url })).status).toBe(201);
    const rule = {
      channels: [
        { channel: 'inapp', template: { title: 'Paid', body: 'Order {{ data.orderId }} is paid' } },
        { channel: 'webhook', template: {} },
      ],
    };
    expect((await tenant.admin('PUT', '/v1/rules/order.paid', rule)).status).toBe(200);
  }, 300_000);
  afterAll(async () => {
    await killStarted();
    await new Promise((resolve) => receiver?.close(resolve));
    await isolated?.drop();
  });

  it('request, relay, fan-out and delivery lines carry it; the webhook gets it as a header', async () => {
    const sent = await tenant.ingest(
      'POST',
      '/v1/events',
      { type: 'order.paid', to: { subscriberId: 'dana' }, data: { orderId: 'P-1' } },
      { 'x-correlation-id': CORRELATION_ID },
    );
    expect(sent.status).toBe(202);
    const eventId: string = sent.body.id;
    await waitForDeliveries(tenant.ingest, eventId);

    const tagged = (logs: RunningProcess['logs']) => logs.filter((line) => line.correlationId === CORRELATION_ID);
    const request = api.logs.find((line) => (line.req as { correlationId?: string })?.correlationId === CORRELATION_ID);
    expect(request).toMatchObject({ req: { url: '/v1/events' }, res: { statusCode: 202 } });

    const stages = await eventually(
      async () => {
        const lines = tagged(worker.logs);
        const deliveries = lines.filter((l) => l.msg === 'delivery sent').map((l) => l.channel);
        const relayed = lines.some((l) => l.msg === 'relayed' && l.eventId === eventId);
        const fannedOut = lines.some((l) => l.msg === 'fan-out' && l.eventId === eventId);
        return relayed && fannedOut && deliveries.length === 2 ? { deliveries: deliveries.sort() } : undefined;
      },
      10_000,
      'worker log lines with the correlation id',
    );
    expect(stages.deliveries).toEqual(['inapp', 'webhook']);
    expect(received.map((headers) => headers['x-correlation-id'])).toEqual([CORRELATION_ID]);
  });
});
