import type { Pool } from 'pg';
import { PG_POOL } from '@herald/db';
import { QueueClients, QueueName } from '@herald/queue';
import { FanoutUseCase } from '../../apps/worker/src/fanout/fanout.usecase';
import { DeliverySweepService } from '../../apps/worker/src/housekeeping/delivery-sweep.service';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { promoteDelayed } from '../helpers/queues';
import { createTenant, type TestTenant } from '../helpers/tenant';

// Every digest window here is an hour: nothing closes on its own while a test looks, however slow the
// machine. A test ends a window itself by making the digest's waiting job due now (promoteDelayed).
const WINDOW_S = 3600;

const digestRule = (digest: { windowSeconds: number; key?: string }) => ({
  channels: [
    {
      channel: 'inapp',
      digest,
      template: {
        title: '{{ count }} updates',
        body: '{{ count }} updates: {% for e in events %}{{ e.x }} {% endfor %}',
      },
    },
  ],
});

interface DeliveryView {
  id: string;
  status: string;
  lastError?: string;
}

describe('digests, through HTTP with the workers running', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('digest');
    // The sweep is run by hand below; its timer must not take the advisory lock meanwhile.
    herald = await startHerald({ env: { ...isolated.env, HOUSEKEEPING_INTERVAL_MS: '600000' } });
    tenant = await createTenant(herald.url);
    pool = herald.app.get<Pool>(PG_POOL);
    const rule = digestRule({ windowSeconds: WINDOW_S });
    expect((await tenant.admin('PUT', '/v1/rules/comment.created', rule)).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  /** One batch (one transaction) of events for `subscriberId`, each with `data` from `dataOf(i)`. */
  async function sendBatch(type: string, subscriberId: string, data: Record<string, unknown>[]): Promise<string[]> {
    const events = data.map((d) => ({ type, to: { subscriberId }, data: d }));
    const sent = await tenant.ingest('POST', '/v1/events/batch', { events });
    expect(sent.status).toBe(207);
    return sent.body.results.map((r: { id: string; status: number }) => {
      expect(r.status).toBe(202);
      return r.id;
    });
  }
  const deliveriesOf = async (eventId: string): Promise<DeliveryView[]> =>
    (await tenant.ingest('GET', `/v1/events/${eventId}`)).body.deliveries ?? [];
  const inboxOf = async (subscriberId: string) => {
    const token = (await tenant.admin('POST', `/v1/subscribers/${subscriberId}/inbox-token`)).body.token;
    return (await client(herald.url, token)('GET', '/v1/inbox')).body.items as {
      title: string;
      body: string;
      createdAt: string;
    }[];
  };
  /** Waits until the inbox holds `count` messages and every event's delivery has settled. */
  async function settled(subscriberId: string, eventIds: string[], count: number) {
    return eventually(
      async () => {
        const inbox = await inboxOf(subscriberId);
        const deliveries = (await Promise.all(eventIds.map(deliveriesOf))).flat();
        const done =
          deliveries.length >= eventIds.length && deliveries.every((d) => ['sent', 'skipped'].includes(d.status));
        return inbox.length === count && done ? { inbox, deliveries } : undefined;
      },
      60_000,
      `${count} digest message(s) for ${subscriberId}`,
    );
  }
  const numbersIn = (body: string) =>
    body
      .replace(/^\d+ updates: /, '')
      .trim()
      .split(' ')
      .map(Number)
      .sort((a, b) => a - b);
  /** Waits until the fan-out has gathered every one of the events: each has its delivery (the digest's, or skipped). */
  const gathered = (eventIds: string[]) =>
    eventually(
      async () => {
        const deliveries = await Promise.all(eventIds.map(deliveriesOf));
        return deliveries.every((d) => d.length > 0) ? deliveries.flat() : undefined;
      },
      30_000,
      `the fan-out of ${eventIds.length} event(s)`,
    );
  /** The window of `open` digests ends now. */
  const endWindows = (open: number) => promoteDelayed(herald.config, 'inapp', open);

  it('turns 5 events within its window into one inbox message listing the 5', async () => {
    const ids = await sendBatch(
      'comment.created',
      'dana',
      [1, 2, 3, 4, 5].map((x) => ({ x })),
    );
    await gathered(ids);
    await endWindows(1);
    const { inbox, deliveries } = await settled('dana', ids, 1);
    expect(inbox[0].title).toBe('5 updates');
    expect(inbox[0].body).toMatch(/^5 updates: /);
    expect(numbersIn(inbox[0].body)).toEqual([1, 2, 3, 4, 5]);

    // One event carries the digest's delivery; the other four say which delivery took them.
    const sent = deliveries.filter((d) => d.status === 'sent');
    expect(sent).toHaveLength(1);
    const skipped = deliveries.filter((d) => d.status === 'skipped');
    expect(skipped).toHaveLength(4);
    for (const d of skipped) expect(d.lastError).toBe(`digested: sent with delivery ${sent[0].id}`);

    // The next event opens a new digest of its own.
    const [later] = await sendBatch('comment.created', 'dana', [{ x: 6 }]);
    await gathered([later]);
    await endWindows(1);
    const next = await settled('dana', [later], 2);
    expect(next.inbox.map((m) => m.body)).toContain('1 updates: 6 ');
  });

  it('digests apart by key, and counts an event whose fan-out runs twice once', async () => {
    const rule = digestRule({ windowSeconds: WINDOW_S, key: 'project.id' });
    expect((await tenant.admin('PUT', '/v1/rules/task.updated', rule)).status).toBe(200);
    const data = [
      { x: 1, project: { id: 'a' } },
      { x: 2, project: { id: 'b' } },
      { x: 3, project: { id: 'a' } },
    ];
    const ids = await sendBatch('task.updated', 'eli', data);
    // A redelivered fan-out: as if the worker crashed after gathering the event but before marking it routed.
    const fanout = herald.app.get(FanoutUseCase, { strict: false });
    await gathered(ids);
    await pool.query(`UPDATE events SET status = 'accepted' WHERE id = $1`, [ids[2]]);
    await fanout.run({ tenantId: tenant.id, eventIds: [ids[2]] });

    await endWindows(2);
    const { inbox } = await settled('eli', ids, 2);
    const byFirst = (a: number[], b: number[]) => a[0] - b[0];
    expect(inbox.map((m) => numbersIn(m.body)).sort(byFirst)).toEqual([[1, 3], [2]]);
    expect(inbox.map((m) => m.title).sort()).toEqual(['1 updates', '2 updates']);

    // Redelivered after its digest was sent: the event stays where it went, and no new digest opens
    // (one would swallow the next event of key a, and wait in the queue beside the control's).
    await pool.query(`UPDATE events SET status = 'accepted' WHERE id = ANY($1::uuid[])`, [ids]);
    await fanout.run({ tenantId: tenant.id, eventIds: ids });
    const [control] = await sendBatch('task.updated', 'eli', [{ x: 9, project: { id: 'a' } }]);
    await gathered([control]);
    await endWindows(1);
    const after = await settled('eli', [...ids, control], 3);
    expect(after.inbox.map((m) => numbersIn(m.body)).sort(byFirst)).toEqual([[1, 3], [2], [9]]);
  });

  it('sends a digest whose opening event was cancelled with the others, and closes one of only cancelled events', async () => {
    // A cancel landing after a fan-out read the event (the race the runner guards): here made by hand.
    const cancel = (ids: string[]) =>
      pool.query(`UPDATE events SET status = 'cancelled' WHERE id = ANY($1::uuid[])`, [ids]);
    const ids = await sendBatch('comment.created', 'fay', [{ x: 1 }, { x: 2 }]);
    await gathered(ids);
    const byEvent = await Promise.all(ids.map(deliveriesOf));
    const opener = ids[byEvent.findIndex((d) => d.some((x) => x.status !== 'skipped'))];
    await cancel([opener]);
    await endWindows(1);
    const { inbox } = await settled('fay', ids, 1);
    expect(numbersIn(inbox[0].body)).toEqual([ids.indexOf(opener) === 0 ? 2 : 1]);

    // Every event cancelled: nothing is sent, and the digest does not stay open to swallow the next one.
    const gone = await sendBatch('comment.created', 'fay', [{ x: 3 }]);
    await gathered(gone);
    await cancel(gone);
    await endWindows(1);
    await eventually(
      async () => ((await deliveriesOf(gone[0]))[0]?.status === 'skipped' ? true : undefined),
      30_000,
      'the cancelled digest skipped',
    );
    const [next] = await sendBatch('comment.created', 'fay', [{ x: 4 }]);
    await gathered([next]);
    await endWindows(1);
    const after = await settled('fay', [next], 2);
    expect(after.inbox.map((m) => numbersIn(m.body))).toContainEqual([4]);
  });

  it('loses nothing when the flush job is lost mid-window: the housekeeping sweep sends the digest', async () => {
    const ids = await sendBatch('comment.created', 'finn', [{ x: 7 }, { x: 8 }]);
    const digestDelivery = (await gathered(ids)).find((d) => d.status === 'queued')!;
    expect(digestDelivery).toBeDefined();
    // Redis loses the delayed job (a crash, a flush of its data): Postgres still has the digest.
    const inappQueue = herald.app.get(QueueClients, { strict: false }).get(QueueName.DeliverInapp);
    await eventually(async () => ((await inappQueue.getJobState(digestDelivery.id)) === 'delayed' ? true : undefined));
    expect(await inappQueue.remove(digestDelivery.id)).toBe(1);
    expect(await inappQueue.getJobState(digestDelivery.id)).toBe('unknown');
    // The window is over, in Postgres's time: due ten seconds ago.
    await pool.query(`UPDATE digests SET window_end = now() - interval '10 seconds' WHERE delivery_id = $1`, [
      digestDelivery.id,
    ]);
    await pool.query(
      `UPDATE deliveries SET not_before = now() - interval '10 seconds', updated_at = now() - interval '10 seconds'
       WHERE id = $1`,
      [digestDelivery.id],
    );
    // Nothing else will send it: no job, and nothing in the inbox.
    expect(
      (await deliveriesOf(ids[0]))
        .concat(await deliveriesOf(ids[1]))
        .map((d) => d.status)
        .sort(),
    ).toEqual(['queued', 'skipped']);
    expect(await inboxOf('finn')).toEqual([]);

    // One sweep finds the digest's delivery without a job and re-adds it; nothing else was stuck.
    const sweep = herald.app.get(DeliverySweepService, { strict: false });
    expect(await sweep.sweepOnce(5)).toEqual({ checked: 1, requeued: 1 });
    const { inbox } = await settled('finn', ids, 1);
    expect(numbersIn(inbox[0].body)).toEqual([7, 8]);
  });

  it('keeps gathering while quiet hours hold the digest, and sends it once they end', async () => {
    // A UTC window that began a minute ago and ends in an hour (HH:MM:SS, from the real clock).
    const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
    const quietHours = { start: clock(Date.now() - 60_000), end: clock(Date.now() + 3600_000) };
    expect((await tenant.admin('PUT', '/v1/subscribers/gus', { quietHours })).status).toBe(201);

    const first = await sendBatch('comment.created', 'gus', [{ x: 1 }, { x: 2 }]);
    await gathered(first);
    // The digest's window ends inside the night: its delivery is held, and the digest stays open.
    await endWindows(1);
    const held = await eventually(
      async () => {
        const all = (await Promise.all(first.map(deliveriesOf))).flat();
        return all.find((d) => d.status === 'deferred');
      },
      30_000,
      'the digest to be deferred by quiet hours',
    );
    expect(held.lastError).toContain('quiet hours');
    // Past the digest's window, but it has not been sent: this event still joins it.
    const [late] = await sendBatch('comment.created', 'gus', [{ x: 3 }]);
    expect(await gathered([late])).toEqual([
      expect.objectContaining({ status: 'skipped', lastError: `digested: sent with delivery ${held.id}` }),
    ]);
    // The night ends.
    expect((await tenant.admin('PUT', '/v1/subscribers/gus', { quietHours: null })).status).toBe(200);
    await endWindows(1);
    const { inbox } = await settled('gus', [...first, late], 1);
    expect(numbersIn(inbox[0].body)).toEqual([1, 2, 3]);
  });

  it('rejects a digest on the webhook channel and malformed windows', async () => {
    const webhook = await tenant.admin('PUT', '/v1/rules/hook.digest', {
      channels: [{ channel: 'webhook', digest: { windowSeconds: 5 }, template: {} }],
    });
    expect(webhook.status).toBe(400);
    const zero = await tenant.admin('PUT', '/v1/rules/bad.digest', digestRule({ windowSeconds: 0 }));
    expect(zero.status).toBe(400);
    expect(zero.body.errors).toEqual([expect.objectContaining({ path: 'channels[0].digest.windowSeconds' })]);
  });
});
