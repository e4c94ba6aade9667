import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { GroupCommit } from '@herald/db';
import { defaultJobOptions } from '@herald/queue';
import { load, warmUp, type LoadResult } from './load';
import { startNode } from './processes';

export interface Baselines {
  /** committed 1-row INSERTs per second */
  pgInsertsPerSecond: number;
  /** the same rows through a group commit (concurrent callers' rows in one multi-row INSERT), per second */
  pgGroupInsertsPerSecond: number;
  /** no-op jobs added and processed per second, one process */
  bullmqJobsPerSecond: number;
  /** Redis commands processed per no-op job (BullMQ's Lua scripts count the commands they run) */
  bullmqRedisCommandsPerJob: number;
  /** the bare Fastify route under the load generator */
  http: LoadResult;
}

export interface BaselineSize {
  seconds: number;
  connections: number;
  jobs: number;
  poolSize: number;
  warmupSeconds: number;
}

/** Every baseline, each warmed up the way Herald's own figures are before its timed run. */
export async function baselines(
  urls: { databaseUrl: string; redisUrl: string },
  size: BaselineSize,
): Promise<Baselines> {
  const pgInsertsPerSecond = await pgInsertRate(urls.databaseUrl, size);
  const pgGroupInsertsPerSecond = await pgGroupInsertRate(urls.databaseUrl, size);
  const bullmq = await bullmqRate(urls.redisUrl, { jobs: size.jobs, concurrency: 16 });
  const http = await bareHttp(size);
  return {
    pgInsertsPerSecond,
    pgGroupInsertsPerSecond,
    bullmqJobsPerSecond: bullmq.jobsPerSecond,
    bullmqRedisCommandsPerJob: bullmq.commandsPerJob,
    http,
  };
}

const TABLE = `CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, type text NOT NULL,
  data jsonb NOT NULL, idempotency_key text, created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, idempotency_key))`;

/** `connections` loops inserting rows (each loop one at a time) for `seconds`; the rate of rows committed. */
async function insertLoops(seconds: number, connections: number, insert: () => Promise<void>): Promise<number> {
  const until = Date.now() + seconds * 1000;
  let inserted = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < until) {
        await insert();
        inserted++;
      }
    }),
  );
  return inserted / ((performance.now() - startedAt) / 1000);
}

/**
 * Raw Postgres: `connections` loops, each committing one-row INSERTs (autocommit, so one WAL flush
 * per row, shared between concurrent commits only as Postgres itself does) through a pool of the
 * ingest's size. The row is shaped like an event row.
 */
export async function pgInsertRate(databaseUrl: string, size: BaselineSize): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: size.poolSize });
  try {
    await pool.query(TABLE);
    const tenantId = randomUUID();
    const data = JSON.stringify(sampleEvent().data);
    const insert = async () => {
      await pool.query(
        'INSERT INTO bench_rows (id, tenant_id, type, data, idempotency_key) VALUES ($1, $2, $3, $4, $5)',
        [randomUUID(), tenantId, 'order.shipped', data, randomUUID()],
      );
    };
    await insertLoops(size.warmupSeconds, size.connections, insert);
    return await insertLoops(size.seconds, size.connections, insert);
  } finally {
    await pool.end();
  }
}

/**
 * What ingest really competes with: the same rows from `connections` concurrent callers, gathered by the
 * api's own GroupCommit (up to 256 rows, two statements in flight) into one multi-row INSERT each.
 */
export async function pgGroupInsertRate(databaseUrl: string, size: BaselineSize): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: size.poolSize });
  try {
    await pool.query(TABLE);
    const tenantId = randomUUID();
    const data = JSON.stringify(sampleEvent().data);
    const group = new GroupCommit<string, boolean>(async (keys) => {
      await pool.query(
        `INSERT INTO bench_rows (id, tenant_id, type, data, idempotency_key)
         SELECT k, $1, 'order.shipped', $2, k FROM unnest($3::uuid[]) AS k`,
        [tenantId, data, keys],
      );
      return keys.map(() => true);
    }, 256);
    const insert = async () => {
      await group.submit([randomUUID()]);
    };
    await insertLoops(size.warmupSeconds, size.connections, insert);
    return await insertLoops(size.seconds, size.connections, insert);
  } finally {
    await pool.end();
  }
}

/**
 * Raw BullMQ in one process: `jobs` no-op jobs added with addBulk (chunks of 100, as the fan-out
 * adds deliveries) while a Worker at the in-app concurrency processes them; the rate is jobs over
 * the time from the first add to the last completion. Herald's default job options (removeOnComplete).
 * A tenth as many jobs go through first, untimed: connections and scripts loaded, code compiled.
 */
export async function bullmqRate(
  redisUrl: string,
  opts: { jobs: number; concurrency: number },
): Promise<{ jobsPerSecond: number; commandsPerJob: number }> {
  const connection = { url: redisUrl, maxRetriesPerRequest: null };
  const prefix = `{bench-${process.pid}-${Date.now()}}`;
  const queue = new Queue('noop', { connection, prefix, defaultJobOptions });
  let completed = 0;
  let target = 0;
  let finish: () => void = () => undefined;
  const worker = new Worker('noop', async () => undefined, { connection, prefix, concurrency: opts.concurrency });
  worker.on('completed', () => ++completed === target && finish());
  const run = async (jobs: number) => {
    completed = 0;
    target = jobs;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const startedAt = performance.now();
    for (let i = 0; i < jobs; i += 100) {
      const chunk = Array.from({ length: Math.min(100, jobs - i) }, (_, j) => ({
        name: 'noop',
        data: { deliveryId: randomUUID(), tenantId: randomUUID(), n: i + j },
        opts: { jobId: randomUUID() },
      }));
      await queue.addBulk(chunk);
    }
    await done;
    return (performance.now() - startedAt) / 1000;
  };
  try {
    await worker.waitUntilReady();
    await run(Math.max(100, Math.round(opts.jobs / 10)));
    const commandsBefore = await commandsProcessed(redisUrl);
    const seconds = await run(opts.jobs);
    return {
      jobsPerSecond: opts.jobs / seconds,
      commandsPerJob: ((await commandsProcessed(redisUrl)) - commandsBefore) / opts.jobs,
    };
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
export async function bareHttp(size: BaselineSize): Promise<LoadResult> {
  const server = startNode(path.join(__dirname, 'bare-http-server.ts'), [], process.env as Record<string, string>);
  try {
    const { port } = JSON.parse(await server.firstLine()) as { port: number };
    const options = {
      url: `http://127.0.0.1:${port}/v1/events`,
      body: JSON.stringify(sampleEvent()),
      seconds: size.seconds,
      connections: size.connections,
      uniqueKeys: true,
    };
    await warmUp(options, size.warmupSeconds);
    return await load(options);
  } finally {
    await server.stop();
  }
}

/** The event every ingest figure sends (fan-out 1, or `recipients` subscribers). */
export function sampleEvent(recipients = 1, tag = 'a') {
  const to = Array.from({ length: recipients }, (_, i) => ({ subscriberId: `sub-${tag}-${i}` }));
  return { type: 'order.shipped', to: recipients === 1 ? to[0] : to, data: { orderId: '42', total: 19.9 } };
}
