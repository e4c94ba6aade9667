import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { defaultJobOptions } from '@herald/queue';
import { load, type LoadResult } from './load';
import { startNode } from './processes';

export interface Baselines {
  /** committed 1-row INSERTs per second */
  pgInsertsPerSecond: number;
  /** no-op jobs added and processed per second, one process */
  bullmqJobsPerSecond: number;
  /** Redis commands processed per no-op job (BullMQ's Lua scripts count the commands they run) */
  bullmqRedisCommandsPerJob: number;
  /** the bare Fastify route under the load generator */
  http: LoadResult;
}

/**
 * Raw Postgres: `connections` loops, each committing one-row INSERTs (autocommit, so one WAL flush
 * per row, shared between concurrent commits only as Postgres itself does) through a pool of the
 * ingest's size. The row is shaped like an event row.
 */
export async function pgInsertRate(
  databaseUrl: string,
  opts: { seconds: number; connections: number; poolSize: number },
): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: opts.poolSize });
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, type text NOT NULL,
         data jsonb NOT NULL, idempotency_key text, created_at timestamptz NOT NULL DEFAULT now(),
         UNIQUE (tenant_id, idempotency_key))`,
    );
    const tenantId = randomUUID();
    const data = JSON.stringify(sampleEvent().data);
    const until = Date.now() + opts.seconds * 1000;
    let inserted = 0;
    const startedAt = performance.now();
    await Promise.all(
      Array.from({ length: opts.connections }, async () => {
        while (Date.now() < until) {
          await pool.query(
            'INSERT INTO bench_rows (id, tenant_id, type, data, idempotency_key) VALUES ($1, $2, $3, $4, $5)',
            [randomUUID(), tenantId, 'order.shipped', data, randomUUID()],
          );
          inserted++;
        }
      }),
    );
    return inserted / ((performance.now() - startedAt) / 1000);
  } finally {
    await pool.end();
  }
}

/**
 * Raw BullMQ in one process: `jobs` no-op jobs added with addBulk (chunks of 100, as the fan-out
 * adds deliveries) while a Worker at the in-app concurrency processes them; the rate is jobs over
 * the time from the first add to the last completion. Herald's default job options (removeOnComplete).
 */
export async function bullmqRate(
  redisUrl: string,
  opts: { jobs: number; concurrency: number },
): Promise<{ jobsPerSecond: number; commandsPerJob: number }> {
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const prefix = `{bench-${process.pid}-${Date.now()}}`;
  const queue = new Queue('noop', { connection, prefix, defaultJobOptions });
  let completed = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const worker = new Worker('noop', async () => undefined, { connection, prefix, concurrency: opts.concurrency });
  worker.on('completed', () => ++completed === opts.jobs && finish());
  try {
    await worker.waitUntilReady();
    const commandsBefore = await commandsProcessed(redisUrl);
    const startedAt = performance.now();
    for (let i = 0; i < opts.jobs; i += 100) {
      const chunk = Array.from({ length: Math.min(100, opts.jobs - i) }, (_, j) => ({
        name: 'noop',
        data: { deliveryId: randomUUID(), tenantId: randomUUID(), n: i + j },
        opts: { jobId: randomUUID() },
      }));
      await queue.addBulk(chunk);
    }
    await done;
    const jobsPerSecond = opts.jobs / ((performance.now() - startedAt) / 1000);
    return { jobsPerSecond, commandsPerJob: ((await commandsProcessed(redisUrl)) - commandsBefore) / opts.jobs };
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/** Redis's count of the commands it processed since it started. */
export async function commandsProcessed(redisUrl: string): Promise<number> {
  const redis = new Redis(redisUrl);
  try {
    return Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1]);
  } finally {
    redis.disconnect();
  }
}

/** The HTTP ceiling: bench/bare-http-server.ts in a child process, under the same load generator. */
export async function bareHttp(opts: { seconds: number; connections: number }): Promise<LoadResult> {
  const server = startNode(path.join(__dirname, 'bare-http-server.ts'), [], process.env as Record<string, string>);
  try {
    const { port } = JSON.parse(await server.firstLine()) as { port: number };
    return await load({
      url: `http://127.0.0.1:${port}/v1/events`,
      body: JSON.stringify(sampleEvent()),
      seconds: opts.seconds,
      connections: opts.connections,
      uniqueKeys: true,
    });
  } finally {
    await server.stop();
  }
}

/** The event every ingest figure sends (fan-out 1, or `recipients` subscribers). */
export function sampleEvent(recipients = 1, tag = 'a') {
  const to = Array.from({ length: recipients }, (_, i) => ({ subscriberId: `sub-${tag}-${i}` }));
  return { type: 'order.shipped', to: recipients === 1 ? to[0] : to, data: { orderId: '42', total: 19.9 } };
}
