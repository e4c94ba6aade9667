import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { PG_POOL } from '@herald/db';
import { QueueName } from '@herald/queue';
import { DeadLetterCopier } from '../../apps/worker/src/dlq/dead-letter-copier';
import { DeliverySweepService } from '../../apps/worker/src/housekeeping/delivery-sweep.service';
import { RetentionService, type RetentionPass } from '../../apps/worker/src/housekeeping/retention.service';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const digestRule = {
  channels: [
    {
      channel: 'inapp',
      digest: { windowSeconds: 3600 },
      template: { title: '{{ count }} comments', body: '{% for e in events %}{{ e.text }} {% endfor %}' },
    },
  ],
};

/**
 * Retention, against real Postgres and Redis with the housekeeping role running: stored times are
 * moved into the past instead of waiting, and passes are run by hand (the timer is set far out).
 * A batch is 2 rows and a pass runs one batch per kind, so a backlog takes several passes.
 */
describe('retention: finished data goes in bounded batches, work in motion stays', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('retention');
    herald = await startHerald({
      roles: ['relay', 'fanout', 'inapp', 'housekeeping'],
      env: {
        ...isolated.env,
        HOUSEKEEPING_INTERVAL_MS: '600000',
        RETENTION_BATCH_SIZE: '2',
        RETENTION_BATCHES_PER_PASS: '1',
      },
    });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    await tenant.admin('PUT', '/v1/rules/comment.created', digestRule);
    pool = herald.app.get<Pool>(PG_POOL);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  const purgeOnce = async (): Promise<RetentionPass> => (await herald.app.get(RetentionService).purgeOnce())!;
  /** Passes until one finds nothing to do; returns each pass's result. */
  async function purgeAll(): Promise<RetentionPass[]> {
    const passes: RetentionPass[] = [];
    for (let i = 0; i < 100; i++) {
      const pass = await purgeOnce();
      passes.push(pass);
      const { heldEvents, ...purged } = pass;
      if (Object.values(purged).every((n) => n === 0) && heldEvents === 0) return passes;
    }
    throw new Error(`retention still busy after 100 passes: ${JSON.stringify(passes.at(-1))}`);
  }

  async function send(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<string> {
    const answer = await tenant.ingest('POST', '/v1/events', body, headers);
    expect(answer.status).toBe(202);
    return answer.body.id;
  }
  const shipped = (subscriberId: string) =>
    send({ type: 'order.shipped', to: { subscriberId }, data: { orderId: subscriberId } });
  /** The event came and finished `days` days ago. */
  const age = (eventIds: string[], days: number) =>
    pool.query(
      `UPDATE events SET created_at = created_at - make_interval(days => $2), updated_at = updated_at - make_interval(days => $2)
       WHERE id = ANY($1::uuid[])`,
      [eventIds, days],
    );
  const remaining = async (table: string, column: string, ids: string[]): Promise<number> =>
    (await pool.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} = ANY($1::uuid[])`, [ids])).rows[0].n;
  const deliveryOf = async (eventId: string): Promise<string> =>
    (await pool.query('SELECT id FROM deliveries WHERE event_id = $1', [eventId])).rows[0].id;

  it('purges a backlog of old finished events two at a time, and a broadcast two deliveries at a time', async () => {
    const ids = [];
    for (const who of ['a1', 'a2', 'a3', 'a4', 'a5']) ids.push(await shipped(who));
    const broadcast = await send({
      type: 'order.shipped',
      to: ['b1', 'b2', 'b3', 'b4', 'b5'].map((subscriberId) => ({ subscriberId })),
    });
    for (const id of [...ids, broadcast]) await waitForDeliveries(tenant.ingest, id, 'sent');
    await purgeAll(); // whatever else is due (nothing should be)

    await age(ids, 31);
    const passes = await purgeAll();
    expect(passes.map((p) => [p.events, p.deliveries])).toEqual([
      [2, 2],
      [2, 2],
      [1, 1],
      [0, 0],
    ]);
    expect(await remaining('events', 'id', ids)).toBe(0);

    await age([broadcast], 31);
    const broadcastPasses = await purgeAll();
    expect(broadcastPasses.map((p) => [p.events, p.deliveries])).toEqual([
      [0, 2],
      [0, 2],
      [1, 1],
      [0, 0],
    ]);
    expect(await remaining('events', 'id', [broadcast])).toBe(0);
  });

  it('purges old finished events with their deliveries, attempts, outbox rows and feedback; archived inbox messages after their own time', async () => {
    const gone = await shipped('ann');
    const kept = await shipped('ann');
    await waitForDeliveries(tenant.ingest, gone, 'sent');
    await waitForDeliveries(tenant.ingest, kept, 'sent');
    const goneDelivery = await deliveryOf(gone);
    const keptDelivery = await deliveryOf(kept);
    expect(await remaining('delivery_attempts', 'delivery_id', [goneDelivery])).toBe(1);
    await pool.query(
      `INSERT INTO feedback_events (id, tenant_id, source, kind, channel, delivery_id, outcome, payload, created_at)
       VALUES (gen_random_uuid(), $1, 'generic', 'delivered', 'inapp', $2, 'noted', '{}', now() - interval '31 days'),
              (gen_random_uuid(), $1, 'generic', 'delivered', 'inapp', $3, 'noted', '{}', now() - interval '1 day')`,
      [tenant.id, goneDelivery, keptDelivery],
    );
    // Ann archived the first message a month ago; the second one she kept in her inbox.
    await pool.query(`UPDATE inbox_messages SET archived_at = now() - interval '31 days' WHERE id = $1`, [
      goneDelivery,
    ]);
    await age([gone], 31);

    await purgeAll();
    expect(await remaining('events', 'id', [gone])).toBe(0);
    expect(await remaining('deliveries', 'event_id', [gone])).toBe(0);
    expect(await remaining('delivery_attempts', 'delivery_id', [goneDelivery])).toBe(0);
    expect(await remaining('outbox', 'event_id', [gone])).toBe(0);
    expect(await remaining('feedback_events', 'delivery_id', [goneDelivery])).toBe(0);
    expect(await remaining('inbox_messages', 'id', [goneDelivery])).toBe(0);
    expect((await tenant.ingest('GET', `/v1/events/${gone}`)).status).toBe(404);
    // the young event, its feedback and Ann's message in her inbox are untouched
    expect((await tenant.ingest('GET', `/v1/events/${kept}`)).status).toBe(200);
    expect(await remaining('feedback_events', 'delivery_id', [keptDelivery])).toBe(1);
    expect(await remaining('inbox_messages', 'id', [keptDelivery])).toBe(1);

    // An old event goes, but a message its subscriber did not archive stays in the inbox.
    await age([kept], 31);
    await pool.query(`UPDATE inbox_messages SET archived_at = now() - interval '29 days' WHERE id = $1`, [
      keptDelivery,
    ]);
    await purgeAll();
    expect(await remaining('events', 'id', [kept])).toBe(0);
    expect(await remaining('inbox_messages', 'id', [keptDelivery])).toBe(1);
  });

  it('keeps old events still in use: a delivery in motion, a sendAt to come, a replayable dead letter, an open digest', async () => {
    const deferred = await shipped('cat');
    const deadYoung = await shipped('dan');
    const deadOld = await shipped('dee');
    for (const id of [deferred, deadYoung, deadOld]) await waitForDeliveries(tenant.ingest, id, 'sent');
    // Cat's delivery waits for her quiet hours to end; Dan's died yesterday, Dee's a month ago.
    await pool.query(
      `UPDATE deliveries SET status = 'deferred', not_before = now() + interval '1 hour' WHERE event_id = $1`,
      [deferred],
    );
    await pool.query(
      `UPDATE deliveries SET status = 'dead', updated_at = now() - interval '1 day' WHERE event_id = $1`,
      [deadYoung],
    );
    await pool.query(
      `UPDATE deliveries SET status = 'dead', updated_at = now() - interval '31 days' WHERE event_id = $1`,
      [deadOld],
    );
    const deadLetters = herald.app.get<Queue>(getQueueToken(QueueName.DeadLetter), { strict: false });
    const deadOldDelivery = await deliveryOf(deadOld);
    await herald.app.get(DeadLetterCopier).copy([deadOldDelivery]);
    expect(await deadLetters.getJob(deadOldDelivery)).toBeDefined();

    // Scheduled for tomorrow: one still waiting (accepted), one cancelled before it was due.
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = await send({ type: 'order.shipped', to: { subscriberId: 'eve' }, sendAt: tomorrow });
    const cancelled = await send({ type: 'order.shipped', to: { subscriberId: 'eve' }, sendAt: tomorrow });
    expect((await tenant.ingest('DELETE', `/v1/events/${cancelled}`)).status).toBeLessThan(300);

    // Fay's digest is gathering for an hour: the first comment opened it, the second joined it.
    const opener = await send({ type: 'comment.created', to: { subscriberId: 'fay' }, data: { text: 'one' } });
    const joiner = await send({ type: 'comment.created', to: { subscriberId: 'fay' }, data: { text: 'two' } });
    await eventually(async () => {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM digest_items WHERE event_id = ANY($1::uuid[])`,
        [[opener, joiner]],
      );
      return rows[0].n === 2 ? true : undefined;
    });
    await eventually(async () => {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM events WHERE id = ANY($1::uuid[]) AND status = 'routed'`,
        [[opener, joiner]],
      );
      return rows[0].n === 2 ? true : undefined;
    });

    const inUse = [deferred, deadYoung, scheduled, cancelled, opener, joiner];
    await age([...inUse, deadOld], 31);
    const passes = await purgeAll();
    expect(passes.reduce((n, p) => n + p.deadLetters, 0)).toBe(1);

    expect(await remaining('events', 'id', inUse)).toBe(inUse.length);
    expect(await remaining('deliveries', 'event_id', [deferred, deadYoung, opener, joiner])).toBe(4);
    const { rows: dead } = await pool.query(`SELECT status FROM deliveries WHERE event_id = $1`, [deadYoung]);
    expect(dead).toEqual([{ status: 'dead' }]);
    // Dee's dead letter expired (no longer replayable, gone from the dead-letter queue), and its event went.
    expect(await remaining('events', 'id', [deadOld])).toBe(0);
    expect(await deadLetters.getJob(deadOldDelivery)).toBeUndefined();
    // Each event in use was held once (the accepted one is no candidate at all), not looked at on every
    // pass: until an hour from now, until its dead letter expires, or until its sendAt.
    expect(passes.reduce((n, p) => n + p.heldEvents, 0)).toBe(inUse.length - 1);
    const { rows: holds } = await pool.query(
      `SELECT id, retained_until > now() + interval '28 days' AS "untilDeadLetterExpires",
         retained_until = send_at AS "untilSendAt", retained_until BETWEEN now() AND now() + interval '1 hour' AS "anHour"
       FROM events WHERE id = ANY($1::uuid[])`,
      [inUse],
    );
    const hold = (id: string) => holds.find((h) => h.id === id);
    expect(hold(deadYoung)).toMatchObject({ untilDeadLetterExpires: true });
    expect(hold(cancelled)).toMatchObject({ untilSendAt: true });
    for (const id of [deferred, opener, joiner]) expect(hold(id)).toMatchObject({ anHour: true });
    expect(hold(scheduled)).toMatchObject({ untilSendAt: null });

    // The digest is sent: both comments can go now, and the digest with them.
    await pool.query(
      `UPDATE deliveries SET status = 'sent' WHERE id = (SELECT delivery_id FROM digests d JOIN digest_items i ON i.digest_id = d.id WHERE i.event_id = $1)`,
      [opener],
    );
    await pool.query(`UPDATE events SET retained_until = now() - interval '1 second' WHERE id = ANY($1::uuid[])`, [
      [opener, joiner],
    ]);
    await purgeAll();
    expect(await remaining('events', 'id', [opener, joiner])).toBe(0);
    expect(await remaining('digest_items', 'event_id', [opener, joiner])).toBe(0);
    expect(await remaining('events', 'id', [deferred, deadYoung, scheduled, cancelled])).toBe(4);

    // Dan's dead letter can still be replayed; Dee's is gone.
    expect((await tenant.admin('POST', `/v1/dead-letters/${await deliveryOf(deadYoung)}/replay`)).status).toBe(202);
    expect((await tenant.admin('POST', `/v1/dead-letters/${deadOldDelivery}/replay`)).status).toBe(404);
  });

  it('releases idempotency keys older than 24 h by clearing them: the key is then a new event, a younger one still replays', async () => {
    const body = { type: 'order.shipped', to: { subscriberId: 'gus' }, data: { orderId: 'g-1' } };
    const first = await send(body, { 'idempotency-key': 'order-g-1' });
    const young = await send(body, { 'idempotency-key': 'order-g-1-young' });
    // Fanned out first: the release skips rows another transaction holds (FOR UPDATE SKIP LOCKED), and the
    // fan-out marking the event routed is one. On a loaded machine that race left the key for a later pass.
    await waitForDeliveries(tenant.ingest, first);
    await waitForDeliveries(tenant.ingest, young);
    await pool.query(`UPDATE events SET created_at = now() - interval '25 hours' WHERE id = $1`, [first]);
    await pool.query(`UPDATE events SET created_at = now() - interval '23 hours' WHERE id = $1`, [young]);
    const replay = async (key: string) => tenant.ingest('POST', '/v1/events', body, { 'idempotency-key': key });

    const before = await replay('order-g-1');
    expect([before.body.id, before.headers.get('idempotent-replayed')]).toEqual([first, 'true']);

    const passes = await purgeAll();
    expect(passes.reduce((n, p) => n + p.idempotencyKeys, 0)).toBe(1);

    const after = await replay('order-g-1');
    expect(after.status).toBe(202);
    expect(after.headers.get('idempotent-replayed')).toBeNull();
    expect(after.body.id).not.toBe(first);
    // released, not deleted
    expect((await tenant.ingest('GET', `/v1/events/${first}`)).status).toBe(200);

    const stillYoung = await replay('order-g-1-young');
    expect([stillYoung.body.id, stillYoung.headers.get('idempotent-replayed')]).toEqual([young, 'true']);
  });

  it('the stuck-event sweep still finds a scheduled event whose fan-out job was lost after its outbox row was purged', async () => {
    const id = await send({
      type: 'order.shipped',
      to: { subscriberId: 'hal' },
      sendAt: new Date(Date.now() + 1500).toISOString(),
    });
    const fanout = herald.app.get<Queue>(getQueueToken(QueueName.Fanout), { strict: false });
    await eventually(async () => ((await fanout.getJobState(id)) === 'delayed' ? true : undefined));
    await fanout.obliterate({ force: true });
    // The relay published it two hours ago (in the outbox's time): past the outbox's retention.
    await pool.query(`UPDATE outbox SET published_at = now() - interval '2 hours' WHERE event_id = $1`, [id]);
    await purgeAll();
    expect(await remaining('outbox', 'event_id', [id])).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await tenant.ingest('GET', `/v1/events/${id}`)).body.status).toBe('accepted');

    const sweep = await herald.app.get(DeliverySweepService).sweepOnce(0);
    expect(sweep.requeued).toBeGreaterThanOrEqual(1);
    await waitForDeliveries(tenant.ingest, id, 'sent');
  });
});
