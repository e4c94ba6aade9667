import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Pool } from 'pg';
import { QueueName } from '@herald/queue';
import { DeliverySweepService } from '../../apps/worker/src/housekeeping/delivery-sweep.service';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

describe('housekeeping sweep: Redis lost its jobs, nothing is lost and nothing doubled', () => {
  let isolated: IsolatedEnv;
  let producer: RunningHerald;
  let consumer: RunningHerald | undefined;
  let tenant: TestTenant;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('sweep');
    // Ingest, relay and fan-out, but no in-app worker yet: deliveries wait in their queue.
    producer = await startHerald({
      roles: ['relay', 'fanout', 'housekeeping'],
      env: { ...isolated.env, HOUSEKEEPING_INTERVAL_MS: '600000' },
    });
    tenant = await createTenant(producer.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL });
  });
  afterAll(async () => {
    await consumer?.close();
    await producer.close();
    await pool.end();
    await isolated.drop();
  });

  const queue = (name: QueueName) => producer.app.get<Queue>(getQueueToken(name), { strict: false });
  const sweep = () => producer.app.get(DeliverySweepService).sweepOnce(0);

  async function send(subscriberId: string, sendAt?: Date): Promise<string> {
    const answer = await tenant.ingest('POST', '/v1/events', {
      type: 'order.shipped',
      to: { subscriberId },
      data: { orderId: subscriberId },
      ...(sendAt && { sendAt: sendAt.toISOString() }),
    });
    return answer.body.id;
  }

  it('re-enqueues queued deliveries and expired claims whose jobs are gone, once, and they are delivered once', async () => {
    const ids = [await send('ann'), await send('ben'), await send('cat')];
    for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'queued');
    // Ben's worker claimed his delivery and died; then Redis came back empty.
    await pool.query(
      `UPDATE deliveries SET status = 'sending', attempts = 1, lease_until = now() - interval '1 second'
       WHERE event_id = $1`,
      [ids[1]],
    );
    await queue(QueueName.DeliverInapp).obliterate({ force: true });

    expect(await sweep()).toEqual({ checked: 3, requeued: 3 });
    // A second sweep finds every job in place and adds nothing.
    expect(await sweep()).toEqual({ checked: 3, requeued: 0 });
    expect(await queue(QueueName.DeliverInapp).getJobCounts('waiting')).toEqual({ waiting: 3 });

    consumer = await startHerald({ api: false, roles: ['inapp'], env: isolated.env });
    for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');
    const { rows } = await pool.query<{ subscriber: string; messages: number }>(
      `SELECT d.subscriber_id AS subscriber, (SELECT count(*)::int FROM inbox_messages m WHERE m.id = d.id) AS messages
       FROM deliveries d WHERE d.event_id = ANY($1::uuid[]) ORDER BY 1`,
      [ids],
    );
    expect(rows).toEqual([
      { subscriber: 'ann', messages: 1 },
      { subscriber: 'ben', messages: 1 },
      { subscriber: 'cat', messages: 1 },
    ]);
    expect(await sweep()).toEqual({ checked: 0, requeued: 0 });
  });

  it('re-publishes an event whose fan-out job was lost after the relay handed it over', async () => {
    const id = await send('dee', new Date(Date.now() + 1500));
    const fanout = queue(QueueName.Fanout);
    await eventually(async () => ((await fanout.getJobState(id)) === 'delayed' ? true : undefined));
    await fanout.obliterate({ force: true });
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await tenant.ingest('GET', `/v1/events/${id}`)).body.status).toBe('accepted');

    expect(await sweep()).toEqual({ checked: 1, requeued: 1 });
    await waitForDeliveries(tenant.ingest, id, 'sent');
  });
});
