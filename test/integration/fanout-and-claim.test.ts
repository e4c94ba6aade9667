import { getQueueToken } from '@nestjs/bullmq';
import { QueueEvents, type Job, type Queue } from 'bullmq';
import { Pool } from 'pg';
import { deliveryId, newId } from '@herald/core';
import { QueueName, queueOptions } from '@herald/queue';
import { FanoutUseCase } from '../../apps/worker/src/fanout/fanout.usecase';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';

describe('fan-out and delivery claims under redelivery', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let pool: Pool;
  const tenantId = newId();

  beforeAll(async () => {
    isolated = await isolatedEnv('fanout');
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL });
    // Only the fan-out side runs: its channel queue fills up without a consumer, so nothing races the test.
    herald = await startHerald({ api: false, roles: ['fanout'], env: isolated.env });
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'fanout')`, [tenantId]);
    await pool.query(`INSERT INTO rules (id, tenant_id, event_type, channels) VALUES ($1, $2, 'greet', $3)`, [
      newId(),
      tenantId,
      JSON.stringify([
        { channel: 'inapp', template: { title: 'Hi {{ subscriber.subscriberId }}', body: '{{ data.n }}' } },
      ]),
    ]);
  });
  afterAll(async () => {
    await herald.close();
    await pool.end();
    await isolated.drop();
  });

  async function insertEvent(recipients: string[]): Promise<string> {
    const id = newId();
    await pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, data) VALUES ($1, $2, 'greet', $3, '{"n": 1}')`,
      [id, tenantId, JSON.stringify(recipients.map((subscriberId) => ({ subscriberId })))],
    );
    return id;
  }

  it('running the same fan-out job twice (even concurrently) gives the same deliveries and jobs', async () => {
    const eventId = await insertEvent(['ann', 'ben', 'cat']);
    const fanout = herald.app.get(FanoutUseCase);
    const job = { tenantId, eventIds: [eventId] };
    const [first, second] = await Promise.all([fanout.run(job), fanout.run(job)]);
    const third = await fanout.run(job);
    expect([first, second, third].map((r) => r.events[eventId])).toEqual(['routed', 'routed', 'routed']);

    const { rows } = await pool.query(
      `SELECT id, subscriber_id, status FROM deliveries WHERE event_id = $1 ORDER BY subscriber_id`,
      [eventId],
    );
    expect(rows.map((r) => r.subscriber_id)).toEqual(['ann', 'ben', 'cat']);
    expect(rows.map((r) => r.id)).toEqual(['ann', 'ben', 'cat'].map((s) => deliveryId(eventId, s, 'inapp')));
    expect(rows.every((r) => r.status === 'queued')).toBe(true);

    // One batch job carries the three; however often the fan-out ran, it was added once (its id follows
    // from its deliveries), and each delivery is in exactly one waiting job.
    const queue = herald.app.get<Queue>(getQueueToken(QueueName.DeliverInapp), { strict: false });
    const jobs = (await queue.getJobs(['waiting'])).filter((j) =>
      (j.data.deliveryIds as string[]).some((id) => rows.some((r) => r.id === id)),
    );
    expect(jobs).toHaveLength(1);
    expect([...jobs[0]!.data.deliveryIds].sort()).toEqual(rows.map((r) => r.id).sort());
    const subscribers = await pool.query(`SELECT count(*)::int AS n FROM subscribers WHERE tenant_id = $1`, [tenantId]);
    expect(subscribers.rows[0].n).toBe(3);
  });

  describe('in-app delivery claim, with a real in-app worker', () => {
    let inapp: RunningHerald;
    let queue: Queue;
    let queueEvents: QueueEvents;

    beforeAll(async () => {
      // Its own queue prefix: the jobs below are added by hand, not by the fan-out above.
      inapp = await startHerald({
        api: false,
        roles: ['inapp'],
        env: {
          ...isolated.env,
          HERALD_QUEUE_PREFIX: `${isolated.env.HERALD_QUEUE_PREFIX}-claims`,
          DELIVERY_LEASE_SECONDS: '2',
        },
      });
      queue = inapp.app.get<Queue>(getQueueToken(QueueName.DeliverInapp), { strict: false });
      queueEvents = new QueueEvents(QueueName.DeliverInapp, { ...queueOptions(inapp.config) });
      await queueEvents.waitUntilReady();
    });
    afterAll(async () => {
      await queueEvents.close();
      await inapp.close();
    });

    async function pendingDelivery(subscriber: string): Promise<string> {
      const eventId = await insertEvent([subscriber]);
      const id = deliveryId(eventId, subscriber, 'inapp');
      await pool.query(
        `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel) VALUES ($1, $2, $3, $4, 'inapp')`,
        [id, tenantId, eventId, subscriber],
      );
      return id;
    }

    async function outcome(id: string) {
      const { rows } = await pool.query(
        `SELECT d.status, d.attempts,
           (SELECT count(*)::int FROM inbox_messages m WHERE m.id = d.id) AS messages,
           (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS "attemptRows"
         FROM deliveries d WHERE d.id = $1`,
        [id],
      );
      return rows[0];
    }

    it('the same delivery redelivered three times at once writes one inbox message and one attempt', async () => {
      const id = await pendingDelivery('dan');
      const jobs = await queue.addBulk(
        [1, 2, 3].map((n) => ({
          name: QueueName.DeliverInapp,
          data: { deliveryIds: [id], tenantId },
          opts: { jobId: `${id}-copy-${n}` },
        })),
      );
      const results = await Promise.all(jobs.map((job) => waitForResult(job)));
      expect(results.filter((r) => r === 'sent 1')).toHaveLength(1);
      // the other two found it sent, or wrote after the first did (in-app takes no lease: its write is the gate)
      expect(results.filter((r) => r === 'already settled 1')).toHaveLength(2);
      expect(await outcome(id)).toEqual({ status: 'sent', attempts: 1, messages: 1, attemptRows: 1 });
    });

    it('a worker killed between claim and ack: the redelivered job waits out the lease, then delivers once', async () => {
      const id = await pendingDelivery('eve');
      // What a killed worker leaves behind: claimed (sending, attempt 1) under a live lease, nothing written.
      await pool.query(
        `UPDATE deliveries SET status = 'sending', attempts = 1, lease_until = now() + interval '2 seconds' WHERE id = $1`,
        [id],
      );
      const [job] = await queue.addBulk([
        { name: QueueName.DeliverInapp, data: { deliveryIds: [id], tenantId }, opts: { jobId: id } },
      ]);
      await eventually(async () => ((await job.isDelayed()) ? true : undefined), 5000, 'the job to wait for the lease');
      expect(await waitForResult(job, 15_000)).toBe('sent 1');
      expect(await outcome(id)).toEqual({ status: 'sent', attempts: 2, messages: 1, attemptRows: 1 });
    });

    function waitForResult(job: Job, timeoutMs = 10_000): Promise<string> {
      return job.waitUntilFinished(queueEvents, timeoutMs);
    }
  });
});
