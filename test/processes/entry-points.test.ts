import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { QueueName, queueOptions } from '@herald/queue';
import { SmtpSandbox } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import {
  ensureBuilt,
  killStarted,
  openRawStream,
  processEnv,
  startProcess,
  type LogLine,
  slowRequest,
  type RunningProcess,
} from '../helpers/processes';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';

// The real entry points (node dist/apps/…/main.js) as separate processes: roles, shared load,
// SIGTERM draining and the api closing its live streams. Relay and fan-out run in this process.

const GRACE_MS = 10_000;
const stopped = (line: LogLine) => line.msg === 'worker stopped';
const running = (line: LogLine) => String(line.msg).startsWith('worker running roles');

describe('worker and api processes', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let pool: Pool;
  const queues = new Map<QueueName, Queue>();

  beforeAll(async () => {
    const build = await ensureBuilt();
    console.log(
      `entry points: ${build.built ? `built in ${build.seconds.toFixed(1)} s (${build.reason})` : build.reason}`,
    );
    isolated = await isolatedEnv('processes');
    // Jobs of 10 deliveries: enough jobs in the bursts below for two workers to share, and for a stop to
    // land between them.
    herald = await startHerald({ roles: ['relay', 'fanout'], env: { ...isolated.env, DELIVERY_JOB_SIZE: '10' } });
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 3 });
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await Promise.all([...queues.values()].map((q) => q.close()));
    await herald?.close();
    await pool?.end();
    await isolated?.drop();
  });

  const env = (overrides: Record<string, string> = {}) => processEnv({ ...isolated.env, ...overrides });

  async function worker(roles: string, overrides: Record<string, string> = {}): Promise<RunningProcess> {
    const child = startProcess('worker', ['--roles', roles], env(overrides));
    await child.waitForLog(running);
    return child;
  }

  function queue(name: QueueName): Queue {
    if (!queues.has(name)) queues.set(name, new Queue(name, queueOptions(herald.config)));
    return queues.get(name)!;
  }

  async function tenantWithRule(rule: object): Promise<TestTenant> {
    const tenant = await createTenant(herald.url);
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
    return tenant;
  }

  async function send(tenant: TestTenant, events: object[]): Promise<void> {
    const answer = await tenant.ingest('POST', '/v1/events/batch', { events });
    expect(answer.status).toBe(207);
    expect(answer.body.results.every((r: { status: number }) => r.status === 202)).toBe(true);
  }

  async function statuses(tenantId: string, channel?: string): Promise<Record<string, number>> {
    const { rows } = await pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM deliveries WHERE tenant_id = $1 AND ($2::text IS NULL OR channel = $2)
       GROUP BY status`,
      [tenantId, channel ?? null],
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }

  describe('worker roles', () => {
    it('a worker started with --roles email takes email deliveries only: the sms ones stay queued', async () => {
      // (processes boot while the tenant is set up)
      const [tenant, emailWorker] = await Promise.all([
        tenantWithRule({
          channels: [
            { channel: 'email', template: { subject: 'Order {{ data.orderId }}', text: 'On its way' } },
            { channel: 'sms', template: { body: 'Order {{ data.orderId }} is on its way' } },
          ],
        }),
        worker('email'),
      ]);
      const recipients = [1, 2, 3].map((i) => ({
        subscriberId: `roles-${i}`,
        email: `roles-${i}@example.com`,
        phone: `+1415555267${i}`,
      }));
      await send(
        tenant,
        recipients.map((to, i) => ({ type: 'order.shipped', to, data: { orderId: `R-${i}` } })),
      );

      await eventually(async () => ((await statuses(tenant.id, 'email')).sent === 3 ? true : undefined), 30_000);
      // (the fan-out marks deliveries queued just after enqueueing them)
      await eventually(async () => ((await statuses(tenant.id, 'sms')).queued === 3 ? true : undefined), 30_000);
      const sms = queue(QueueName.DeliverSms);
      expect(await sms.getJobCounts('active')).toEqual({ active: 0 });
      const waitingSms = (await sms.getJobs(['wait'])).flatMap((job) => job.data.deliveryIds as string[]);
      expect(waitingSms).toHaveLength(3);

      expect(await emailWorker.stop()).toMatchObject({ code: 0 });
      // What the process ran, by its own account: the email queue and nothing else.
      expect(emailWorker.logs.find(running)?.msg).toBe('worker running roles: email');
      expect(emailWorker.logs.find(stopped)).toMatchObject({
        drained: true,
        // the three emails were one batch (one job)
        jobs: { 'deliver.email': { completed: 1, failed: 0 } },
      });
      expect(await statuses(tenant.id, 'sms')).toEqual({ queued: 3 });
    });

    it('two workers with the same role share the load', async () => {
      const [tenant, a, b] = await Promise.all([
        tenantWithRule(inappRule),
        worker('inapp', { CONCURRENCY_INAPP: '2' }),
        worker('inapp', { CONCURRENCY_INAPP: '2' }),
      ]);
      await send(
        tenant,
        Array.from({ length: 60 }, (_, i) => ({
          type: 'order.shipped',
          to: { subscriberId: `share-${i}` },
          data: { orderId: `S-${i}` },
        })),
      );
      await eventually(async () => ((await statuses(tenant.id)).sent === 60 ? true : undefined), 30_000);

      const [stopA, stopB] = await Promise.all([a.stop(), b.stop()]);
      expect([stopA.code, stopB.code]).toEqual([0, 0]);
      // Each process counts the jobs its own BullMQ worker completed (the 'completed' events).
      const done = [a, b].map(
        (w) => (w.logs.find(stopped)?.jobs as Record<string, { completed: number }>)['deliver.inapp'],
      );
      expect(done[0].completed).toBeGreaterThan(0);
      expect(done[1].completed).toBeGreaterThan(0);
      // Each delivery claimed once, whichever worker's batch it was in.
      const { rows } = await pool.query<{ claims: number }>(
        `SELECT coalesce(sum(attempts), 0)::int AS claims FROM deliveries WHERE tenant_id = $1`,
        [tenant.id],
      );
      expect(rows[0].claims).toBe(60);
    });

    it('an unknown role: exit 1 and one line on stderr naming WORKER_ROLES', async () => {
      const child = startProcess('worker', ['--roles', 'email,carrier-pigeon'], env());
      const { code } = await child.exited;
      expect(code).toBe(1);
      const lines = child.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/WORKER_ROLES is invalid: .*\(unknown: carrier-pigeon\)/);
      expect(child.logs).toEqual([]);
    });
  });

  describe('graceful shutdown', () => {
    it('SIGTERM during a burst: in-flight jobs finish, exit 0, nothing left active; the next worker sends the rest once', async () => {
      const [tenant, first] = await Promise.all([
        tenantWithRule(inappRule),
        worker('inapp', { CONCURRENCY_INAPP: '2', SHUTDOWN_GRACE_MS: String(GRACE_MS) }),
      ]);
      await send(
        tenant,
        Array.from({ length: 200 }, (_, i) => ({
          type: 'order.shipped',
          to: { subscriberId: `burst-${i}` },
          data: { orderId: `B-${i}` },
        })),
      );
      // Polled tightly, so the signal lands while most of the burst is still to do.
      const deadline = Date.now() + 30_000;
      while (((await statuses(tenant.id)).sent ?? 0) < 20) {
        if (Date.now() > deadline) throw new Error('the first worker sent nothing in 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      const stop = await first.stop('SIGTERM');
      expect(stop).toMatchObject({ code: 0, signal: null });
      // Drained: every job in flight finished within the grace period (none was left active).
      expect(first.logs.find(stopped)).toMatchObject({ drained: true });
      const afterStop = await statuses(tenant.id);
      // Mid-burst for real: some were sent, some were not, and none is left half-done.
      expect(afterStop.sent).toBeGreaterThanOrEqual(20);
      expect(afterStop.sent).toBeLessThan(200);
      expect(afterStop.sending).toBeUndefined();
      expect(await queue(QueueName.DeliverInapp).getJobCounts('active')).toEqual({ active: 0 });

      const second = await worker('inapp');
      await eventually(async () => ((await statuses(tenant.id)).sent === 200 ? true : undefined), 30_000);
      expect(await second.stop()).toMatchObject({ code: 0 });
      const { rows } = await pool.query<{ deliveries: number; inbox: number; attempts: number; claims: number }>(
        `SELECT (SELECT count(*)::int FROM deliveries WHERE tenant_id = $1) AS deliveries,
                (SELECT count(*)::int FROM inbox_messages WHERE tenant_id = $1) AS inbox,
                (SELECT count(*)::int FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
                  WHERE d.tenant_id = $1) AS attempts,
                (SELECT coalesce(sum(attempts), 0)::int FROM deliveries WHERE tenant_id = $1) AS claims`,
        [tenant.id],
      );
      expect(rows[0]).toEqual({ deliveries: 200, inbox: 200, attempts: 200, claims: 200 });
      const [firstDone, secondDone] = [first, second].map(
        (w) => (w.logs.find(stopped)?.jobs as Record<string, { completed: number }>)['deliver.inapp'].completed,
      );
      expect(firstDone).toBeGreaterThan(0);
      expect(secondDone).toBeGreaterThan(0);
    });

    it('a job outliving the grace period: the worker still exits 0 after the grace, and the job is left active for stall detection', async () => {
      // An SMTP server that answers RCPT TO for slow@ only after ten minutes: the job cannot finish
      // while the test runs, so a worker that waited for it would never exit.
      const smtp = await SmtpSandbox.start({ slowMs: 600_000 });
      try {
        const [tenant, slow] = await Promise.all([
          tenantWithRule({
            channels: [{ channel: 'email', template: { subject: 'Order {{ data.orderId }}', text: 'On its way' } }],
          }),
          worker('email', { SHUTDOWN_GRACE_MS: '1000', SMTP_URL: smtp.url }),
        ]);
        await send(tenant, [
          {
            type: 'order.shipped',
            to: { subscriberId: 'slowpoke', email: 'slow@example.com' },
            data: { orderId: 'Z' },
          },
        ]);
        await eventually(async () => ((await statuses(tenant.id)).sending === 1 ? true : undefined), 30_000);

        const stop = await slow.stop('SIGTERM');
        expect(stop.code).toBe(0);
        expect(stop.ms).toBeGreaterThanOrEqual(1000);
        expect(slow.logs.find(stopped)).toMatchObject({ drained: false, jobs: { 'deliver.email': { completed: 0 } } });
        // Not sent, and its job still active with a lock nobody renews: BullMQ's stall detection in
        // the next email worker returns it to the queue, and the delivery's lease decides when it
        // may be claimed again.
        expect(smtp.messages()).toEqual([]);
        expect((await statuses(tenant.id)).sent).toBeUndefined();
        expect(await queue(QueueName.DeliverEmail).getJobCounts('active')).toEqual({ active: 1 });
      } finally {
        await smtp.stop();
      }
    });

    it('api SIGTERM: the open inbox stream gets a shutdown event and ends, a request in flight is answered, exit 0', async () => {
      const api = startProcess('api', [], env({ SHUTDOWN_GRACE_MS: String(GRACE_MS) }));
      const tenant = await createTenant(herald.url);
      const { port } = (await api.waitForLog((line) => String(line.msg).startsWith('api listening'))) as {
        port: number;
      };
      const base = `http://127.0.0.1:${port}`;
      const token = (await tenant.admin('POST', '/v1/subscribers/streamer/inbox-token')).body.token;
      const stream = await openRawStream(`${base}/v1/inbox/stream`, { authorization: `Bearer ${token}` });
      await eventually(async () => (stream.text().includes(': connected') ? true : undefined), 15_000);
      // An event whose body is still arriving when the signal comes: the api has read its headers.
      const inFlight = slowRequest(
        `${base}/v1/events`,
        'POST',
        { authorization: `Bearer ${tenant.keys.ingest}`, 'content-type': 'application/json' },
        JSON.stringify({ type: 'order.shipped', to: { subscriberId: 'late' }, data: { orderId: 'L-1' } }),
      );
      await inFlight.started;

      const stopping = api.stop('SIGTERM');
      const body = await stream.ended;
      expect(body).toMatch(/event: shutdown\ndata: \{\}\n\n$/);
      // Not accepting any more: a new connection is refused while the one in flight is finished.
      await eventually(
        () =>
          fetch(`${base}/health/live`).then(
            () => undefined,
            () => true,
          ),
        15_000,
        'new connections to be refused',
      );
      inFlight.finish();
      const answer = await inFlight.answer;
      expect(answer.status).toBe(202);
      const stop = await stopping;
      expect(stop).toMatchObject({ code: 0, signal: null });
      // Everything in flight was answered within the grace period: no connection had to be cut.
      const said = api.logs.map((l) => String(l.msg));
      expect(said).toEqual(expect.arrayContaining(['api stopped']));
      expect(said.filter((msg) => msg.includes('grace period'))).toEqual([]);
      // The event it accepted while stopping is durable: the in-process relay and fan-out route it.
      const { rows } = await pool.query('SELECT status FROM events WHERE id = $1', [JSON.parse(answer.body).id]);
      expect(rows).toHaveLength(1);
    });
  });
});
