import { getQueueToken } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import { Pool } from 'pg';
import { newId } from '@herald/core';
import { QueueName, queueOptions } from '@herald/queue';
import { isolatedEnv, startHerald, testConfig, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { eventually } from '../helpers/http';

const EVENTS = 5000;

describe('outbox relay', () => {
  let isolated: IsolatedEnv;
  let pool: Pool;

  beforeAll(async () => {
    isolated = await isolatedEnv('relay');
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL });
  });
  afterAll(async () => {
    await pool.end();
    await isolated.drop();
  });

  it('two relays draining 5,000 events side by side enqueue each event exactly once, in batches', async () => {
    const tenantId = newId();
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'relay')`, [tenantId]);
    const config = testConfig(isolated.env);
    const queueEvents = new QueueEvents(QueueName.Fanout, { ...queueOptions(config), autorun: true });
    await queueEvents.waitUntilReady();
    let added = 0;
    let duplicated = 0;
    queueEvents.on('added', () => added++);
    queueEvents.on('duplicated', () => duplicated++);

    // Committed before the relays start, in several transactions, so both relays find work at once.
    for (let i = 0; i < EVENTS; i += 1000) {
      await pool.query(
        `WITH e AS (
           INSERT INTO events (id, tenant_id, type, recipients)
           SELECT gen_random_uuid(), $1, 'bulk', '[{"subscriberId":"x"}]' FROM generate_series(1, 1000) RETURNING id, tenant_id)
         INSERT INTO outbox (event_id, tenant_id) SELECT id, tenant_id FROM e`,
        [tenantId],
      );
    }

    const relays: RunningHerald[] = [
      await startHerald({ api: false, roles: ['relay'], env: isolated.env }),
      await startHerald({ api: false, roles: ['relay'], env: isolated.env }),
    ];
    try {
      await eventually(
        async () => {
          const { rows } = await pool.query(`SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL`);
          return rows[0].n === 0 ? true : undefined;
        },
        60_000,
        'the outbox to drain',
      );
      const queue = relays[0].app.get<Queue>(getQueueToken(QueueName.Fanout), { strict: false });
      // Events go out in jobs of up to FANOUT_JOB_EVENTS (100 by default) events of one tenant.
      const jobCount = Math.ceil(EVENTS / 100);
      await eventually(async () => (added >= jobCount ? true : undefined), 10_000, `fan-out jobs added (saw ${added})`);
      // Every job in every waiting structure, read from Redis itself: an event in two jobs (or twice in one)
      // would be a second enqueue of one event. Nothing here is scheduled, so nothing may be delayed.
      const redis = (await queue.getBackend().client) as unknown as {
        lrange(key: string, start: number, stop: number): Promise<string[]>;
        zrange(key: string, start: number, stop: number): Promise<string[]>;
      };
      const waiting = await redis.lrange(queue.toKey('wait'), 0, -1);
      const held = [
        ...(await redis.zrange(queue.toKey('delayed'), 0, -1)),
        ...(await redis.zrange(queue.toKey('prioritized'), 0, -1)),
      ];
      const jobs = await Promise.all([...waiting, ...held].map((id) => queue.getJob(id)));
      const listed = jobs.flatMap((job) => (job?.data.eventIds as string[] | undefined) ?? []);
      const { rows } = await pool.query<{ id: string }>(`SELECT id FROM events`);
      const eventIds = new Set(rows.map((r) => r.id));
      // Nothing waits delayed or prioritized: each event's job is in the wait list, and nothing else is in the
      // queue. A held entry (seen a few times in CI under load, unexplained) fails here, showing what it was.
      const heldJobs = await Promise.all(
        held.map(async (id) => {
          const job = await queue.getJob(id);
          return { id, state: await queue.getJobState(id), job: job?.asJSON() ?? null };
        }),
      );
      expect({ heldJobs, duplicated }).toEqual({ heldJobs: [], duplicated: 0 });
      expect(listed).toHaveLength(EVENTS);
      expect(new Set(listed)).toEqual(eventIds);
      expect(jobs.every((job) => job?.data.tenantId === tenantId && job.data.eventIds.length <= 100)).toBe(true);
      expect(waiting.length).toBe(added);
    } finally {
      await Promise.all(relays.map((r) => r.close()));
      await queueEvents.close();
    }
  });
});
