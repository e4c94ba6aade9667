import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Pool } from 'pg';
import { SandboxHub, type WebhookReceiver } from '@herald/sandbox';
import { QueueName } from '@herald/queue';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { promoteDelayed } from '../helpers/queues';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const email = { channel: 'email', template: { subject: 'Order {{ data.orderId }}', text: 'On its way' } };
const sms = { channel: 'sms', template: { body: 'Order {{ data.orderId }}' } };
const inapp = { channel: 'inapp', template: { title: 'Order {{ data.orderId }}', body: 'On its way' } };
const webhook = { channel: 'webhook', template: {} };

describe('delivery guarantees: retries, dead letters, rate limits, exactly-once effects', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let sandboxes: SandboxHub;
  let receiver: WebhookReceiver;
  let pool: Pool;
  let seq = 0;

  beforeAll(async () => {
    isolated = await isolatedEnv('guarantees');
    herald = await startHerald({
      env: {
        ...isolated.env,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        RETRY_MAX_ATTEMPTS: '3',
        RETRY_BASE_DELAY_MS: '20',
        RETRY_MAX_DELAY_MS: '200',
        // The sweep is exercised on its own below; here it must not interfere.
        HOUSEKEEPING_INTERVAL_MS: '600000',
      },
    });
    tenant = await createTenant(herald.url);
    sandboxes = herald.app.get(SandboxHub);
    receiver = await sandboxes.webhookReceiver();
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL });
    await rule('retry.email', { channels: [email] });
  });
  afterAll(async () => {
    await herald.close();
    await pool.end();
    await isolated.drop();
  });

  async function rule(type: string, body: object): Promise<void> {
    const answer = await tenant.admin('PUT', `/v1/rules/${type}`, body);
    expect(answer.status).toBe(200);
  }

  async function send(type: string, to: object): Promise<string> {
    const answer = await tenant.ingest('POST', '/v1/events', { type, to, data: { orderId: `O-${++seq}` } });
    expect(answer.status).toBe(202);
    return answer.body.id;
  }

  function queue(name: QueueName): Queue {
    return herald.app.get<Queue>(getQueueToken(name), { strict: false });
  }

  describe('retries with backoff', () => {
    it('a provider failing k times then accepting: delivered on attempt k+1, every attempt recorded', async () => {
      (await sandboxes.smtp()).failNext(2, 451, 'greylisted');
      const id = await send('retry.email', { subscriberId: 'kim', email: 'kim@example.com' });
      const event = await waitForDeliveries(tenant.ingest, id, 'sent');
      expect(event.deliveries[0].attempts).toEqual([
        expect.objectContaining({ outcome: 'retryable', code: '451' }),
        expect.objectContaining({ outcome: 'retryable', code: '451' }),
        expect.objectContaining({ outcome: 'ok' }),
      ]);
    });

    it('a permanent error: one attempt, failed, and nothing left to try it again', async () => {
      const id = await send('retry.email', { subscriberId: 'bo', email: 'bounce@example.com' });
      const event = await waitForDeliveries(tenant.ingest, id, 'failed');
      const delivery = event.deliveries[0];
      expect(delivery.attempts).toEqual([expect.objectContaining({ outcome: 'bad_address', code: '550' })]);
      // No job (of its batch or of its own) waits to send it again.
      const email = queue(QueueName.DeliverEmail);
      const pending = await email.getJobs(['waiting', 'delayed', 'prioritized', 'active']);
      expect(pending.filter((job) => (job.data.deliveryIds as string[]).includes(delivery.id))).toEqual([]);
    });
  });

  describe('dead letters', () => {
    it('exhausted attempts: dead, listed with the last error, counted in metrics, and replay delivers it', async () => {
      (await sandboxes.smtp()).failNext(3, 421, 'service not available');
      const id = await send('retry.email', { subscriberId: 'lou', email: 'lou@example.com' });
      const event = await waitForDeliveries(tenant.ingest, id, 'dead');
      const deliveryId = event.deliveries[0].id;
      expect(event.deliveries[0].attempts).toHaveLength(3);

      const listed = await tenant.admin('GET', '/v1/dead-letters?channel=email');
      expect(listed.status).toBe(200);
      expect(listed.body.items).toEqual([
        expect.objectContaining({
          deliveryId,
          eventId: id,
          eventType: 'retry.email',
          channel: 'email',
          attempts: 3,
          lastError: expect.stringContaining('service not available'),
          lastAttempt: expect.objectContaining({ outcome: 'retryable', code: '421', provider: 'smtp' }),
        }),
      ]);
      const dlq = queue(QueueName.DeadLetter);
      await eventually(async () => ((await dlq.getJobState(deliveryId)) === 'waiting' ? true : undefined));
      const metrics = await client(herald.url)('GET', '/metrics');
      expect(metrics.body).toMatch(/herald_queue_jobs\{queue="dead-letter",state="waiting"\} [1-9]/);

      const replay = await tenant.admin('POST', `/v1/dead-letters/${deliveryId}/replay`);
      expect(replay.status).toBe(202);
      const after = await waitForDeliveries(tenant.ingest, id, 'sent');
      // The replay's fresh budget shows in the history: three failures, then the successful attempt.
      expect(after.deliveries[0].attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
        'retryable',
        'retryable',
        'retryable',
        'ok',
      ]);
      expect((await tenant.admin('GET', '/v1/dead-letters')).body.items).toEqual([]);
      expect(await dlq.getJobState(deliveryId)).toBe('unknown');
    });

    it('replay by filter, twice at once: each dead delivery is replayed and sent exactly once', async () => {
      const endpoint = (
        await tenant.admin('POST', '/v1/webhook-endpoints', {
          url: receiver.urlFor('/hooks/flaky'),
          eventTypes: ['replay.hook'],
        })
      ).body;
      receiver.setSecret(endpoint.secret);
      receiver.respondWith('/hooks/flaky', 503);
      await rule('replay.hook', { channels: [webhook] });
      const ids = [await send('replay.hook', { subscriberId: 'x' }), await send('replay.hook', { subscriberId: 'y' })];
      ids.push(await send('replay.hook', { subscriberId: 'z' }));
      for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'dead');

      receiver.respondWith('/hooks/flaky', 200);
      const [a, b] = await Promise.all([
        tenant.admin('POST', '/v1/dead-letters/replay', { channel: 'webhook', eventType: 'replay.hook' }),
        tenant.admin('POST', '/v1/dead-letters/replay', { channel: 'webhook', eventType: 'replay.hook' }),
      ]);
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(a.body.replayed + b.body.replayed).toBe(3);
      for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');

      const accepted = receiver.requests().filter((r) => r.path === '/hooks/flaky' && r.status === 200);
      const webhookIds = accepted.map((r) => r.headers['webhook-id']);
      expect(webhookIds).toHaveLength(3);
      expect(new Set(webhookIds).size).toBe(3);
      expect(accepted.every((r) => r.signatureValid)).toBe(true);
    });

    it('purge ends a dead delivery as failed; replaying or purging what is not dead is refused', async () => {
      (await sandboxes.smtp()).failNext(3, 421, 'down');
      const id = await send('retry.email', { subscriberId: 'pat', email: 'pat@example.com' });
      const deliveryId = (await waitForDeliveries(tenant.ingest, id, 'dead')).deliveries[0].id;

      expect((await tenant.admin('DELETE', `/v1/dead-letters/${deliveryId}`)).status).toBe(204);
      const event = await tenant.ingest('GET', `/v1/events/${id}`);
      expect(event.body.deliveries[0].status).toBe('failed');
      const again = await tenant.admin('DELETE', `/v1/dead-letters/${deliveryId}`);
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ type: '/problems/not-dead', detail: expect.stringContaining('failed') });
      expect((await tenant.admin('POST', `/v1/dead-letters/${deliveryId}/replay`)).status).toBe(409);
      expect((await tenant.admin('POST', '/v1/dead-letters/not-a-delivery/replay')).status).toBe(404);
      const unknown = '00000000-0000-4000-8000-000000000000';
      expect((await tenant.admin('POST', `/v1/dead-letters/${unknown}/replay`)).status).toBe(404);
    });

    it('validates filters and keeps dead letters to their tenant', async () => {
      const bad = await tenant.admin('GET', '/v1/dead-letters?channel=fax');
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'query.channel' })]);
      const badReplay = await tenant.admin('POST', '/v1/dead-letters/replay', { before: 'yesterday' });
      expect(badReplay.status).toBe(400);
      expect(badReplay.body.errors).toEqual([expect.objectContaining({ path: 'before' })]);
      expect((await tenant.ingest('GET', '/v1/dead-letters')).status).toBe(403);
      const other = await createTenant(herald.url);
      expect((await other.admin('GET', '/v1/dead-letters')).body.items).toEqual([]);
    });
  });

  describe('per-subscriber rate limits', () => {
    it('defer: over the limit waits for the window (deferred, no attempt used), then is delivered', async () => {
      // An hour's window, so the count does not depend on how fast the five reach the limiter.
      const limit = (windowSeconds: number) => ({
        channels: [{ ...inapp, rateLimit: { limit: 2, windowSeconds, policy: 'defer' } }],
      });
      await rule('limited.defer', limit(3600));
      const events = Array.from({ length: 5 }, () => ({
        type: 'limited.defer',
        to: { subscriberId: 'dee' },
        data: { orderId: `O-${++seq}` },
      }));
      const batch = await tenant.ingest('POST', '/v1/events/batch', { events });
      expect(batch.status).toBe(207);
      const ids: string[] = batch.body.results.map((r: { id: string }) => r.id);
      const rows = async () =>
        (
          await pool.query<{ status: string; attempts: number; rows: number; deferredAt: string | null }>(
            `SELECT d.status, d.attempts, (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS rows,
               d.last_deferral->>'at' AS "deferredAt"
             FROM deliveries d WHERE d.event_id = ANY($1::uuid[]) ORDER BY d.status, d.id`,
            [ids],
          )
        ).rows;
      let seen: string[] = [];
      const held = await eventually(
        async () => {
          const now = await rows();
          seen = now.map((r) => r.status);
          const deferred = now.filter((r) => r.status === 'deferred');
          return seen.filter((s) => s === 'sent').length === 2 && deferred.length === 3 ? deferred : undefined;
        },
        15_000,
        () => `2 sent and 3 deferred (saw ${seen.join(', ')})`,
      );
      // No attempt used by waiting: neither counted on the delivery nor recorded.
      expect(held.map((r) => [r.attempts, r.rows])).toEqual(Array(3).fill([0, 0]));
      const { rows: reasons } = await pool.query<{ lastError: string }>(
        `SELECT last_error AS "lastError" FROM deliveries WHERE event_id = ANY($1::uuid[]) AND status = 'deferred'`,
        [ids],
      );
      expect(reasons.map((r) => r.lastError)).toEqual(
        Array(3).fill('rate limit: 2 per 3600 s for this subscriber on inapp'),
      );

      // Woken early, the three find the window still full and wait again.
      await promoteDelayed(herald.config, 'inapp', 3);
      await eventually(async () => {
        const again = (await rows()).filter((r) => r.status === 'deferred');
        return again.length === 3 && again.every((r, i) => r.deferredAt! > held[i].deferredAt!) ? true : undefined;
      });

      // The window slides: made a second long, the first two leave it, and the three go out.
      await rule('limited.defer', limit(1));
      await promoteDelayed(herald.config, 'inapp', 3);
      for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');
      expect((await rows()).map((r) => [r.status, r.attempts, r.rows])).toEqual(Array(5).fill(['sent', 1, 1]));
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=dee&limit=100');
      expect(inbox.body.items).toHaveLength(5);
    });

    it('drop: over the limit ends rate_limited, with the reason and without an attempt', async () => {
      await rule('limited.drop', {
        channels: [{ ...inapp, rateLimit: { limit: 1, windowSeconds: 60, policy: 'drop' } }],
      });
      const ids = [
        await send('limited.drop', { subscriberId: 'dro' }),
        await send('limited.drop', { subscriberId: 'dro' }),
      ];
      ids.push(await send('limited.drop', { subscriberId: 'dro' }));
      const outcomes = await eventually(async () => {
        const { rows } = await pool.query<{ status: string; lastError: string | null; attempts: number }>(
          `SELECT status, last_error AS "lastError", attempts FROM deliveries WHERE event_id = ANY($1::uuid[])`,
          [ids],
        );
        return rows.length === 3 && rows.every((r) => ['sent', 'rate_limited'].includes(r.status)) ? rows : undefined;
      });
      expect(outcomes.filter((r) => r.status === 'sent')).toHaveLength(1);
      const dropped = outcomes.filter((r) => r.status === 'rate_limited');
      expect(dropped).toHaveLength(2);
      expect(dropped.every((r) => r.attempts === 0 && r.lastError?.includes('rate limit: 1 per 60 s'))).toBe(true);
      // Another subscriber has a window of their own.
      await waitForDeliveries(tenant.ingest, await send('limited.drop', { subscriberId: 'other' }), 'sent');
    });

    it('critical rules bypass the limit', async () => {
      await rule('limited.critical', {
        critical: true,
        channels: [{ ...inapp, rateLimit: { limit: 1, windowSeconds: 60, policy: 'drop' } }],
      });
      const ids = [
        await send('limited.critical', { subscriberId: 'cri' }),
        await send('limited.critical', { subscriberId: 'cri' }),
      ];
      for (const id of ids) await waitForDeliveries(tenant.ingest, id, 'sent');
    });

    it("the tenant's default per channel applies where a rule has none, and can be lifted", async () => {
      expect((await tenant.admin('GET', '/v1/settings')).body).toEqual({ rateLimits: {}, smsFrom: null });
      const invalid = await tenant.admin('PATCH', '/v1/settings', {
        rateLimits: { sms: { limit: 0, windowSeconds: 60, policy: 'drop' } },
      });
      expect(invalid.status).toBe(400);
      expect(invalid.body.errors).toEqual([expect.objectContaining({ path: 'rateLimits.sms.limit' })]);

      const limit = { limit: 1, windowSeconds: 60, policy: 'drop' };
      const set = await tenant.admin('PATCH', '/v1/settings', { rateLimits: { sms: limit } });
      expect(set.body).toEqual({ rateLimits: { sms: limit }, smsFrom: null });
      await rule('default.sms', { channels: [sms] });
      const to = { subscriberId: 'sam', phone: '+15550001000' };
      const first = await send('default.sms', to);
      await waitForDeliveries(tenant.ingest, first, 'sent');
      await waitForDeliveries(tenant.ingest, await send('default.sms', to), 'rate_limited');

      expect((await tenant.admin('PATCH', '/v1/settings', { rateLimits: { sms: null } })).body).toEqual({
        rateLimits: {},
        smsFrom: null,
      });
      await waitForDeliveries(tenant.ingest, await send('default.sms', to), 'sent');
    });
  });

  describe('exactly-once effects', () => {
    it('a webhook job redelivered three times at once makes one call', async () => {
      const endpoint = (
        await tenant.admin('POST', '/v1/webhook-endpoints', {
          url: receiver.urlFor('/hooks/once'),
          eventTypes: ['once.hook'],
        })
      ).body;
      receiver.setSecret(endpoint.secret);
      await rule('once.hook', { channels: [webhook] });
      const id = await send('once.hook', { subscriberId: 'one' });
      const deliveryId = (await waitForDeliveries(tenant.ingest, id, 'sent')).deliveries[0].id;

      await queue(QueueName.DeliverWebhook).addBulk(
        [1, 2, 3].map((n) => ({
          name: QueueName.DeliverWebhook,
          data: { deliveryIds: [deliveryId], tenantId: tenant.id },
          opts: { jobId: `${deliveryId}-again-${n}` },
        })),
      );
      await eventually(async () => {
        const counts = await queue(QueueName.DeliverWebhook).getJobCounts('waiting', 'active', 'delayed');
        return counts.waiting + counts.active + counts.delayed === 0 ? true : undefined;
      });
      expect(receiver.requests().filter((r) => r.headers['webhook-id'] === deliveryId)).toHaveLength(1);
    });
  });
});
