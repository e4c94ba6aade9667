import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import { WebhookReceiver } from '@herald/sandbox';
import { ensureBuilt } from '../test/helpers/processes';
import { bareHttp, bullmqRate, pgInsertRate, sampleEvent } from './baselines';
import { bigSend, endToEnd, latencyAt, type Throughput } from './e2e';
import { createTenant, startApi, startWorkers, type Api, type HeraldEnv } from './herald';
import { load } from './load';
import { killAll, type NodeProcess } from './processes';
import { summarizeProfiles } from './profile-summary';
import { ratios, report, type Results } from './report';
import { startServices } from './services';

/**
 * `npm run bench [-- --quick] [-- --profile]`. Full: every figure of issue 10. --quick: the same
 * path on small numbers, as CI's smoke test (fails when Herald does not deliver; no thresholds).
 * --profile: Herald's processes run with --cpu-prof; their top self-time functions are printed.
 * --set KEY=VALUE (repeatable): a setting for Herald's processes, e.g. --set CONCURRENCY_FANOUT=32.
 */
const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const size = quick
  ? {
      seconds: 1,
      connections: 16,
      jobs: 1000,
      e2eEvents: 60,
      latencyRate: 100,
      latencySeconds: 1,
      big: 500,
      scale: [1],
    }
  : {
      seconds: 10,
      connections: 64,
      jobs: 20_000,
      e2eEvents: 2000,
      latencyRate: 1000,
      latencySeconds: 10,
      big: 100_000,
      scale: [1, 2, 4],
    };
const timeoutMs = quick ? 30_000 : 900_000;
/** --big=N: the size of the big send (default 100,000; 500 with --quick) */
const bigFlag = process.argv.find((a) => a.startsWith('--big='));
if (bigFlag) size.big = Number(bigFlag.slice('--big='.length));
/** Herald's default DATABASE_POOL_SIZE: the raw insert baseline gets the same pool. */
const POOL_SIZE = 20;

const stamp = new Date().toISOString().replace(/:/g, '-').slice(0, 16);
const resultsDir = path.join(__dirname, 'results');
const log = (line: string) => console.log(`[bench] ${line}`);

async function main(): Promise<void> {
  const startedAt = Date.now();
  process.env.HERALD_QUEUE_PREFIX ??= `bench${Date.now()}`;
  const build = await ensureBuilt();
  log(`dist: ${build.built ? `built in ${build.seconds.toFixed(0)} s` : build.reason}`);
  const services = await startServices(log);
  const receiver = await WebhookReceiver.start();
  const pool = new Pool({ connectionString: services.databaseUrl, max: 4 });
  const profileDir = path.join(resultsDir, `profiles-${stamp}.tmp`);
  const env: HeraldEnv = {
    databaseUrl: services.databaseUrl,
    redisUrl: services.redisUrl,
    queuePrefix: `bench${Date.now()}`,
    nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    settings: Object.fromEntries(
      process.argv.flatMap((a, i) => (a === '--set' ? [process.argv[i + 1].split(/=(.*)/s).slice(0, 2)] : [])),
    ),
  };
  let api: Api | undefined;
  let workers: NodeProcess[] = [];
  try {
    log('baselines');
    const pgInsertsPerSecond = await pgInsertRate(services.databaseUrl, {
      seconds: size.seconds,
      connections: size.connections,
      poolSize: POOL_SIZE,
    });
    const bullmq = await bullmqRate(services.redisUrl, { jobs: size.jobs, concurrency: 16 });
    const http = await bareHttp({ seconds: size.seconds, connections: size.connections });

    log('ingest');
    api = await startApi(env);
    const ingest = await measureIngest(api, pool);

    log('end to end, 1 worker');
    workers = await startWorkers(env, 1);
    const e2e1 = await e2e(api, pool, receiver, services.redisUrl, 1);
    const e2e10 = await e2e(api, pool, receiver, services.redisUrl, 10);
    // The issue's 1,000 events/s, or what one worker was just seen to sustain end to end (80 % of
    // it) when that is less: a load it cannot keep up with measures its backlog, not its latency.
    const latencyRate = Math.max(1, Math.min(size.latencyRate, Math.floor(0.8 * e2e1.inappPerSecond)));
    const latency = await latencyAt(api, pool, {
      rate: latencyRate,
      seconds: size.latencySeconds,
      connections: size.connections,
      timeoutMs,
    });
    log(`${size.big} recipients`);
    const rssFrom = workers[0].rss.samples.length;
    const big = await bigSend(api, pool, { recipients: size.big, timeoutMs });
    const bigRss = workers[0].rss.samples.slice(rssFrom);
    const workerPeakMb = workers[0].rss.peakMb;
    await stopAll(workers);

    const scale: { workers: number; fanout1: Throughput; fanout10: Throughput }[] = [
      { workers: 1, fanout1: e2e1, fanout10: e2e10 },
    ];
    for (const count of size.scale.filter((n) => n > 1)) {
      log(`end to end, ${count} workers`);
      workers = await startWorkers(env, count);
      scale.push({
        workers: count,
        fanout1: await e2e(api, pool, receiver, services.redisUrl, 1),
        fanout10: await e2e(api, pool, receiver, services.redisUrl, 10),
      });
      await stopAll(workers);
    }
    workers = [];
    const apiPeakMb = api.proc.rss.peakMb;
    await api.proc.stop();
    api = undefined;

    const results: Results = {
      at: new Date().toISOString(),
      quick,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? '',
        node: process.version,
        loadavg: os.loadavg(),
      },
      baselines: {
        pgInsertsPerSecond,
        bullmqJobsPerSecond: bullmq.jobsPerSecond,
        bullmqRedisCommandsPerJob: bullmq.commandsPerJob,
        http,
      },
      ingest,
      e2e: { fanout1: e2e1, fanout10: e2e10 },
      latency,
      rss: { apiPeakMb, workerPeakMb },
      bigSend: { ...big, rssMb: quartiles(bigRss), rssSamples: bigRss.length },
      scale,
      seconds: (Date.now() - startedAt) / 1000,
    };
    report(results);
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, quick ? `${stamp}.quick.tmp.json` : `${stamp}.json`);
    writeFileSync(file, JSON.stringify({ ...results, ratios: ratios(results) }, null, 2) + '\n');
    log(`written to ${path.relative(process.cwd(), file)}`);
    if (profile) summarizeProfiles(profileDir);
  } finally {
    await stopAll(workers);
    await api?.proc.stop();
    killAll();
    await pool.end();
    await receiver.stop();
    await services.stop();
  }
}

async function measureIngest(api: Api, pool: Pool): Promise<Results['ingest']> {
  // No rule and no worker yet: ingest alone; what it wrote is marked published afterwards so the
  // end-to-end runs start from an empty outbox.
  const tenant = await createTenant(api.url, `bench-ingest-${Date.now()}`);
  const headers = { authorization: `Bearer ${tenant.ingestKey}` };
  const common = { headers, connections: size.connections, seconds: size.seconds };
  // Warm-up, not measured: the pool's connections open and V8 compiles the hot path.
  const warmup = await load({
    ...common,
    seconds: quick ? 1 : 3,
    url: `${api.url}/v1/events`,
    body: JSON.stringify(sampleEvent()),
    uniqueKeys: true,
  });
  const single = await load({
    ...common,
    url: `${api.url}/v1/events`,
    body: JSON.stringify(sampleEvent()),
    uniqueKeys: true,
  });
  const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM events WHERE tenant_id = $1', [
    tenant.id,
  ]);
  if (rows[0].n < single.ok + warmup.ok)
    throw new Error(`ingest answered 202 ${single.ok} times but ${rows[0].n} events are stored`);
  const batchEvents = Array.from({ length: 100 }, () => sampleEvent());
  const batch = await load({
    ...common,
    url: `${api.url}/v1/events/batch`,
    body: JSON.stringify({ events: batchEvents }),
  });
  const halfLoad = await load({
    ...common,
    url: `${api.url}/v1/events`,
    body: JSON.stringify(sampleEvent()),
    uniqueKeys: true,
    rate: Math.max(1, Math.round(single.rps / 2)),
  });
  await pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');
  return {
    single,
    stored: rows[0].n - warmup.ok,
    batch: { ...batch, eventsPerSecond: batch.rps * batchEvents.length, eventsPerRequest: batchEvents.length },
    halfLoad,
  };
}

function e2e(api: Api, pool: Pool, receiver: WebhookReceiver, redisUrl: string, fanout: number): Promise<Throughput> {
  return endToEnd(api, pool, {
    events: Math.ceil(size.e2eEvents / fanout),
    fanout,
    webhookUrl: receiver.urlFor('/hooks/bench'),
    timeoutMs,
    label: `f${fanout}`,
    redisUrl,
  });
}

async function stopAll(procs: NodeProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

function quartiles(samples: number[]): { p25: number; p50: number; p75: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p25: at(0.25), p50: at(0.5), p75: at(0.75), max: at(1) };
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    killAll();
    console.error(`[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
