import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { WebhookReceiver } from '@herald/sandbox';
import { ensureBuilt } from '../test/helpers/processes';
import { baselines, type BaselineSize } from './baselines';
import { endToEnd, latencyAt, topicSend, type Throughput } from './e2e';
import { migrateFor, startAllInOne, startApi, startWorkers, type Api, type HeraldEnv } from './herald';
import { measureIngest } from './ingest';
import { killAll, rssMb, type NodeProcess } from './processes';
import { summarizeProfiles } from './profile-summary';
import { ratios, report, type Results, type TargetResults } from './report';
import { startServices } from './services';
import { currentTarget, refTarget, type Target } from './targets';

/**
 * `npm run bench [-- --quick] [-- --baseline-ref <ref>] [-- --profile] [-- --set KEY=VALUE]`.
 * Full: every figure of issue 19, for this checkout and, with --baseline-ref, for another commit built
 * beside it and measured in the same run (before → after side by side). Baselines are measured before and
 * after the targets' runs, each warmed up as Herald is, and ratios use their mean; a drift between the two
 * shows in the table. --quick: the same path on small numbers, as CI's smoke test (fails when Herald does
 * not deliver; no thresholds). --profile: Herald's processes run with --cpu-prof; their top self-time
 * functions are printed. --set KEY=VALUE (repeatable): a setting for Herald's processes.
 */
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
};
const size = quick
  ? {
      seconds: 1,
      warmupSeconds: 1,
      connections: 16,
      jobs: 1000,
      e2eEvents: 60,
      latencyRate: 100,
      latencySeconds: 1,
      big: 500,
      smallRate: 5,
      scaleRuns: 1,
    }
  : {
      seconds: 10,
      warmupSeconds: 3,
      connections: 64,
      jobs: 20_000,
      // in-app deliveries per end-to-end run: with batches 2,000 took under a second, too short a window for a
      // rate (or for the idle rate subtracted from the counted costs) to mean anything
      e2eEvents: 20_000,
      latencyRate: 1000,
      latencySeconds: 10,
      big: 100_000,
      smallRate: 20,
      scaleRuns: 3,
    };
if (flag('--big')) size.big = Number(flag('--big'));
const timeoutMs = quick ? 60_000 : 900_000;
/** Herald's default DATABASE_POOL_SIZE: the raw insert baselines get the same pool. */
const POOL_SIZE = 20;

const stamp = new Date().toISOString().replace(/:/g, '-').slice(0, 16);
const resultsDir = path.join(__dirname, 'results');
const log = (line: string) => console.log(`[bench] ${line}`);

async function main(): Promise<void> {
  const startedAt = Date.now();
  // ensureBuilt builds once per run, a run being named by its queue prefix: this one's own.
  process.env.HERALD_QUEUE_PREFIX ??= `bench${Date.now()}`;
  const build = await ensureBuilt();
  log(`dist: ${build.built ? `built in ${build.seconds.toFixed(0)} s` : build.reason}`);
  const baselineRef = flag('--baseline-ref');
  const targets: Target[] = [...(baselineRef ? [refTarget(baselineRef, log)] : []), currentTarget()];
  const services = await startServices(log);
  const receiver = await WebhookReceiver.start();
  const profileDir = path.join(resultsDir, `profiles-${stamp}.tmp`);
  const settings = Object.fromEntries(
    argv.flatMap((a, i) => (a === '--set' ? [argv[i + 1].split(/=(.*)/s).slice(0, 2)] : [])),
  );
  const baselineSize: BaselineSize = {
    seconds: size.seconds,
    connections: size.connections,
    jobs: size.jobs,
    poolSize: POOL_SIZE,
    warmupSeconds: size.warmupSeconds,
  };
  const created: string[] = [];
  try {
    log('baselines (before)');
    const before = await baselines(services, baselineSize);
    const measured: TargetResults[] = [];
    for (const target of targets) {
      log(`target ${target.label} (${target.commit})`);
      // Each target its own database, migrated by its own migrations, and its own queue prefix.
      const name = `herald_bench_${target.commit.replace(/\W/g, '_')}_${Date.now()}`;
      const databaseUrl = await createDatabase(services.databaseUrl, name);
      created.push(name);
      migrateFor(target, databaseUrl);
      const env: HeraldEnv = {
        databaseUrl,
        redisUrl: services.redisUrl,
        queuePrefix: `bench${Date.now()}`,
        nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
        settings,
      };
      const pool = new Pool({ connectionString: databaseUrl, max: 4 });
      try {
        measured.push(await measureTarget(target, env, pool, receiver));
      } finally {
        killAll();
        await pool.end();
      }
    }
    log('baselines (after)');
    const after = await baselines(services, baselineSize);

    const results: Results = {
      at: new Date().toISOString(),
      quick,
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? '',
        node: process.version,
        loadavg: os.loadavg(),
      },
      baselines: { before, after },
      targets: measured,
      seconds: (Date.now() - startedAt) / 1000,
    };
    report(results);
    mkdirSync(resultsDir, { recursive: true });
    const file = path.join(resultsDir, quick ? `${stamp}.quick.tmp.json` : `${stamp}.json`);
    writeFileSync(file, JSON.stringify({ ...results, ratios: ratios(results) }, null, 2) + '\n');
    log(`written to ${path.relative(process.cwd(), file)}`);
    if (profile) summarizeProfiles(profileDir);
  } finally {
    killAll();
    await receiver.stop();
    await dropDatabases(services.databaseUrl, created);
    await services.stop();
  }
}

async function measureTarget(
  target: Target,
  env: HeraldEnv,
  pool: Pool,
  receiver: WebhookReceiver,
): Promise<TargetResults> {
  const ingestSize = { seconds: size.seconds, connections: size.connections, warmupSeconds: size.warmupSeconds };
  log(`${target.label}: ingest, api alone`);
  let api: Api | undefined = await startApi(target, env);
  const split = await measureIngest(api, pool, ingestSize, `${target.label}-split`);
  // Ingest's events are nobody's to deliver: marked published, the relay starts from an empty outbox.
  await pool.query('UPDATE outbox SET published_at = now() WHERE published_at IS NULL');

  log(`${target.label}: idle one-role worker`);
  const [idle] = await startWorkers(target, env, 1, 'inapp');
  await new Promise((resolve) => setTimeout(resolve, quick ? 1000 : 5000));
  const idleWorkerMb = rssMb(idle.pid) ?? 0;
  await idle.stop();

  log(`${target.label}: end to end, 1 worker`);
  let workers = await startWorkers(target, env, 1);
  const e2e = (fanout: number, label: string) =>
    endToEnd(api!, pool, {
      events: Math.ceil(size.e2eEvents / fanout),
      fanout,
      webhookUrl: receiver.urlFor('/hooks/bench'),
      timeoutMs,
      label: `${target.label}-${label}`,
      redisUrl: env.redisUrl,
    });
  const fanout1 = await e2e(1, 'f1');
  const fanout10 = await e2e(10, 'f10');
  // The issue's 1,000 events/s, or what one worker was just seen to sustain end to end (80 % of it) when
  // that is less: a load it cannot keep up with measures its backlog, not its latency.
  const latencyRate = Math.max(1, Math.min(size.latencyRate, Math.floor(0.8 * fanout1.inappPerSecond)));
  log(`${target.label}: trigger → sent at ${latencyRate}/s`);
  const latency = await latencyAt(api, pool, {
    rate: latencyRate,
    seconds: size.latencySeconds,
    connections: size.connections,
    timeoutMs,
  });
  log(`${target.label}: topic send to ${size.big}, a small tenant beside it`);
  const topic = await topicSend(api, pool, workers[0], { recipients: size.big, smallRate: size.smallRate, timeoutMs });
  await stopAll(workers);

  const scale = { one: [fanout10.inappPerSecond], two: [] as number[] };
  for (let run = 0; run < size.scaleRuns; run++) {
    for (const count of [2, 1]) {
      if (count === 1 && run === 0) continue; // the run above is the first one-worker sample
      log(`${target.label}: end to end, ${count} workers (run ${run + 1})`);
      workers = await startWorkers(target, env, count);
      const result: Throughput = await e2e(10, `scale${count}-${run}`);
      (count === 1 ? scale.one : scale.two).push(result.inappPerSecond);
      await stopAll(workers);
    }
  }
  await api.proc.stop();
  api = undefined;

  log(`${target.label}: ingest, all-in-one`);
  const allInOne = await startAllInOne(target, env);
  const ingestAllInOne = await measureIngest(allInOne, pool, ingestSize, `${target.label}-all`);
  await allInOne.proc.stop();

  return {
    label: target.label,
    commit: target.commit,
    ingest: { split, allInOne: ingestAllInOne },
    e2e: { fanout1, fanout10 },
    latency,
    topicSend: topic,
    idleWorkerMb,
    scale,
  };
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabases(adminUrl: string, names: string[]): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  } finally {
    await client.end();
  }
}

async function stopAll(procs: NodeProcess[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop()));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    killAll();
    console.error(`[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
