import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { migrate } from '../../libs/db/src/migrate';
import { freePort } from '../../libs/dev-services/src/free-port';
import {
  FcmSandbox,
  SandboxRecorder,
  SmtpSandbox,
  TWILIO_SANDBOX_FROM,
  TwilioSandbox,
  WebhookReceiver,
  type FaultInjector,
} from '@herald/sandbox';
import { QueueName } from '@herald/queue';
import {
  AUDITED_CHANNELS,
  audit,
  ReceivedLedger,
  waitForQuiescence,
  type ChaosFigures,
  type ExternalChannel,
  type Interruption,
} from '../helpers/chaos-audit';
import { SteadyLoad, type SentEvent } from '../helpers/chaos-load';
import { Supervisor, type Crash, type KillRecord, type ProcessSpec } from '../helpers/chaos-processes';
import { ChaosPostgres, ChaosRedis } from '../helpers/chaos-servers';
import { createDatabase } from '../helpers/databases';
import { createTenant } from '../helpers/tenant';

/** One chaos run: how long the load lasts, how hard it is, and what goes wrong when (seconds into the load). */
export interface ChaosPlan {
  size: 'full' | 'ci';
  loadSeconds: number;
  eventsPerSecond: number;
  /** kill -9s spread over the load: the 2nd, 6th, 10th … hit the api, the others the workers in turn */
  kills: number;
  /** how long Redis and Postgres stay down after a crash */
  outageSeconds: number;
  /** SIGKILL of Redis; it comes back with its AOF */
  redisCrashAt?: number;
  /** SIGKILL of Redis, and its AOF deleted: it comes back empty */
  redisEmptyRestartAt?: number;
  /** SIGKILL of the postmaster and its backends; it comes back through crash recovery */
  postgresCrashAt?: number;
  /** windows in which every provider misbehaves (PROVIDER_FAULTS) */
  providerFaults: { at: number; seconds: number }[];
  /** the longest the deliveries may take to settle once the load has stopped */
  settleSeconds: number;
}

/** Every notification (delivery) one event of the chaos rule makes: one per channel. */
export const NOTIFICATIONS_PER_EVENT = AUDITED_CHANNELS.length;

/** The retry settings and lease of the run's workers: the bounds on outcomes are computed from them. */
export const RUN_SETTINGS = {
  retryMaxAttempts: 16,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 4000,
  deliveryLeaseSeconds: 30,
};

// In a fault window each provider fails 30% of requests: a third 5xx, a third held past the client's
// timeout, a third taken and the answer lost. Held for 12 s, past the clients' timeouts (SMTP socket
// and webhook: 10 s), within the 30 s lease. The timeouts are that long because the sandboxes share
// the test process with the load: on a busy machine a shorter one expires while a request the
// receiver will still take waits in line.
export const PROVIDER_FAULTS = { errorRate: 0.1, timeoutRate: 0.1, lostAnswerRate: 0.1, timeoutMs: 12_000 };

/**
 * How long after an outage the api may still refuse (503, or no answer): its pool finds the
 * connections Postgres dropped on their next use, and a request sent just before the window closed
 * may wait behind them; a restarted api's first requests meet cold caches.
 */
export const OUTAGE_MARGIN_MS = 5000;

/** A stretch of the run in which a part was down: from the fault until it was back (the margin not included). */
export interface OutageWindow {
  what: string;
  from: number;
  to: number;
}

export interface LoadFigures {
  /** every request the load meant to send */
  offered: number;
  statuses: Record<string, number>;
  /** requests that overlapped an outage of the api or Postgres (plus the margin) */
  inside: { offered: number; statuses: Record<string, number> };
  outside: { offered: number; accepted: number; statuses: Record<string, number>; refused: string[] };
  /** 202s answered in the last second before an api kill or a Postgres crash: the riskiest to lose */
  acceptedJustBeforeAFault: number;
}

export interface KillSummary {
  name: string;
  app: ProcessSpec['app'];
  signal: NodeJS.Signals | null;
  /** it came back: its successor said it runs */
  cameBack: boolean;
  /** units of work its successor did (api: 202s; workers: deliveries, fan-outs, relays) */
  workAfter: number;
  inFlight?: number;
}

export interface ChaosResult {
  plan: ChaosPlan;
  figures: ChaosFigures;
  settled: boolean;
  load: LoadFigures;
  windows: OutageWindow[];
  kills: KillSummary[];
  /** faults that could not be carried out (a victim not seen dead, a server that did not come back) */
  faultErrors: string[];
  crashes: (Crash & { explainedBy?: string })[];
  postgres: { crashes: (NodeJS.Signals | null)[]; recoveries: number };
  redis: { crashes: (NodeJS.Signals | null)[]; keptAcrossCrash: boolean[] };
  injected: Record<ExternalChannel, { error: number; timeout: number; lostAnswer: number }>;
  /** error-level lines logged outside every outage window, and stderr */
  errors: string[];
  seconds: number;
  table: string;
}

// Relay, fan-out and housekeeping twice; each channel on two of three channel workers. The relay
// workers log each relay and fan-out (debug), so a restarted one can be seen to work.
const PROCESSES: ProcessSpec[] = [
  { name: 'api', app: 'api' },
  { name: 'relay-a', app: 'worker', roles: 'relay,fanout,housekeeping', env: { LOG_LEVEL: 'debug' } },
  { name: 'relay-b', app: 'worker', roles: 'relay,fanout,housekeeping', env: { LOG_LEVEL: 'debug' } },
  { name: 'channels-a', app: 'worker', roles: 'inapp,webhook,email' },
  { name: 'channels-b', app: 'worker', roles: 'sms,push,webhook' },
  { name: 'channels-c', app: 'worker', roles: 'inapp,email,sms,push' },
];

// The tag is what each provider shows (subject, SMS body, push title, webhook data): see ReceivedLedger.
const CHAOS_RULE = {
  channels: [
    { channel: 'inapp', template: { title: '{{ data.tag }}', body: 'chaos' } },
    { channel: 'email', template: { subject: '{{ data.tag }}', text: 'chaos' } },
    { channel: 'sms', template: { body: '{{ data.tag }}' } },
    { channel: 'push', template: { title: '{{ data.tag }}', body: 'chaos' } },
    { channel: 'webhook', template: {} },
  ],
};
const SUBSCRIBERS = 50;
// Kills stop this long before the load does, so a process that comes back still finds work.
const KILL_FREE_TAIL_SECONDS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// What a process says when Postgres or Redis cannot be reached (or is still recovering).
const UNREACHABLE =
  /ECONNREFUSED|ECONNRESET|Connection is closed|Connection terminated|database system is (starting up|in recovery mode|shutting down)|Can't reach database|P1001/;

/**
 * Herald as separate processes (the built entry points: ensureBuilt() first) on a Redis and a Postgres of the run's own, a steady load through
 * the public API, and the plan's faults; then every accepted event is audited against the
 * database and what the sandbox providers received.
 */
export async function runChaos(plan: ChaosPlan, log: (line: string) => void): Promise<ChaosResult> {
  const startedAt = Date.now();
  const [pg, redis] = await Promise.all([ChaosPostgres.start(), ChaosRedis.start()]);
  const recorder = new SandboxRecorder();
  const ledger = new ReceivedLedger(recorder);
  const [smtp, twilio, fcm, receiver] = await Promise.all([
    SmtpSandbox.start({ recorder }),
    TwilioSandbox.start({ recorder }),
    FcmSandbox.start({ recorder }),
    WebhookReceiver.start({ recorder }),
  ]);
  const faults: Record<ExternalChannel, FaultInjector> = {
    email: smtp.faults,
    sms: twilio.faults,
    push: fcm.faults,
    webhook: receiver.faults,
  };
  let supervisor: Supervisor | undefined;
  const pool = new Pool({ connectionString: pg.url('herald'), max: 3 });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));

  try {
    await createDatabase(pg.url(), 'herald');
    await migrate(pg.url('herald'));
    const apiPort = await freePort();
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    supervisor = new Supervisor(PROCESSES, {
      DATABASE_URL: pg.url('herald'),
      REDIS_URL: redis.url,
      HERALD_QUEUE_PREFIX: 'chaos',
      PORT: String(apiPort),
      HERALD_PUBLIC_URL: apiUrl,
      DATABASE_POOL_SIZE: '10',
      RELAY_POLL_MS: '500',
      SMTP_URL: `${smtp.url}/?socketTimeout=10000`,
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM: TWILIO_SANDBOX_FROM,
      TWILIO_API_BASE_URL: twilio.url,
      FCM_PROJECT_ID: fcm.projectId,
      FCM_API_BASE_URL: fcm.url,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_TIMEOUT_MS: '10000',
      RETRY_MAX_ATTEMPTS: String(RUN_SETTINGS.retryMaxAttempts),
      RETRY_BASE_DELAY_MS: String(RUN_SETTINGS.retryBaseDelayMs),
      RETRY_MAX_DELAY_MS: String(RUN_SETTINGS.retryMaxDelayMs),
      DELIVERY_LEASE_SECONDS: String(RUN_SETTINGS.deliveryLeaseSeconds),
      HOUSEKEEPING_INTERVAL_MS: '2000',
      STUCK_AFTER_SECONDS: '10',
      SHUTDOWN_GRACE_MS: '2000',
    });
    await supervisor.start();
    log(`processes up after ${((Date.now() - startedAt) / 1000).toFixed(0)} s: ${supervisor.names().join(', ')}`);

    const tenant = await createTenant(apiUrl);
    expectStatus(await tenant.admin('PUT', '/v1/rules/chaos.tick', CHAOS_RULE), 200, 'rule');
    const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', {
      url: receiver.urlFor('/hooks/chaos'),
      eventTypes: ['chaos.tick'],
    });
    expectStatus(endpoint, 201, 'webhook endpoint');
    receiver.setSecret(endpoint.body.secret);

    const load = new SteadyLoad(
      apiUrl,
      tenant.keys.ingest,
      plan.eventsPerSecond,
      (tag, seq) => {
        const n = seq % SUBSCRIBERS;
        return {
          type: 'chaos.tick',
          to: {
            subscriberId: `sub-${n}`,
            email: `sub-${n}@example.com`,
            phone: '+14155552671',
            pushTokens: [{ token: `device-${n}`, platform: 'android' }],
          },
          data: { tag },
        };
      },
      `c${Date.now().toString(36)}`,
    );
    const loadStartedAt = Date.now();
    const t = (at = Date.now()) => `t+${((at - loadStartedAt) / 1000).toFixed(0)}s`;
    load.start();
    const progress = setInterval(() => {
      void statusCounts(pool).then((counts) => log(`${t()} accepted ${load.accepted().length}, deliveries ${counts}`));
    }, 20_000);

    // What the timeline did, for the judgement afterwards.
    const ingestOutages: OutageWindow[] = [];
    const infraOutages: OutageWindow[] = [];
    const faultErrors: string[] = [];
    const pgCrashes: (NodeJS.Signals | null)[] = [];
    const redisCrashes: (NodeJS.Signals | null)[] = [];
    const keptAcrossCrash: boolean[] = [];
    const at = (seconds: number, what: string, action: () => Promise<void>) =>
      (async () => {
        await sleep(Math.max(0, loadStartedAt + seconds * 1000 - Date.now()));
        log(`${t()} ${what}`);
        await action().catch((err: Error) => {
          faultErrors.push(`${what}: ${err.message}`);
          log(`${t()} ${what} FAILED: ${err.message}`);
        });
      })();
    const outage = plan.outageSeconds * 1000;
    const timeline: Promise<void>[] = [];

    const workers = shuffle(supervisor.names('worker'));
    const killSlot = Math.max(1, plan.loadSeconds - 5 - KILL_FREE_TAIL_SECONDS) / Math.max(1, plan.kills);
    for (let i = 0; i < plan.kills; i++) {
      const victim = i % 4 === 1 ? 'api' : workers[(i - Math.floor((i + 2) / 4)) % workers.length];
      const when = 5 + killSlot * (i + Math.random());
      timeline.push(
        at(when, `kill -9 ${victim}`, async () => {
          // The api dies with requests in flight: each of them is cut, or was answered (202) and so must be durable.
          if (victim === 'api') await load.whileInFlight();
          const kill = await supervisor!.kill(victim, victim === 'api' ? () => load.inFlightNow() : undefined);
          if (victim === 'api') ingestOutages.push({ what: 'api killed', from: kill.signalAt, to: kill.backAt! });
          log(
            `${t()} ${victim} seen dead (${kill.signal}) ${kill.deadAt - kill.signalAt} ms after the signal` +
              `${kill.inFlight !== undefined ? ` with ${kill.inFlight} requests in flight` : ''}, back ${t(kill.backAt)}`,
          );
        }),
      );
    }
    if (plan.redisCrashAt !== undefined) {
      timeline.push(
        at(plan.redisCrashAt, 'Redis killed (SIGKILL)', async () => {
          const from = Date.now();
          const marker = `${from}`;
          await redisCommand(redis.url, (r) => r.set('herald-chaos:marker', marker));
          // An answered write can still sit in Redis' buffer while a slow fsync holds its write() back (up to
          // 2 s, chaos-servers.ts): the crash comes once the marker is in the AOF, so the check below is about
          // restarting from the AOF, not about how busy this machine's disk was.
          const written = Date.now() + 3000;
          while (!(await redis.aofHolds(marker)) && Date.now() < written) await sleep(50);
          redisCrashes.push(await redis.crash());
          await sleep(outage);
          await redis.start();
          infraOutages.push({ what: 'Redis killed', from, to: Date.now() });
          const kept = (await redisCommand(redis.url, (r) => r.get('herald-chaos:marker'))) === marker;
          keptAcrossCrash.push(kept);
          log(`${t()} Redis back from its AOF (${kept ? 'kept' : 'LOST'} the last write it answered)`);
        }),
      );
    }
    if (plan.redisEmptyRestartAt !== undefined) {
      timeline.push(
        at(plan.redisEmptyRestartAt, 'Redis killed (SIGKILL), its AOF and RDB deleted', async () => {
          const from = Date.now();
          redisCrashes.push(await redis.crash());
          await redis.wipe();
          await sleep(outage);
          await redis.start();
          infraOutages.push({ what: 'Redis killed and emptied', from, to: Date.now() });
          log(`${t()} Redis back, EMPTY`);
        }),
      );
    }
    if (plan.postgresCrashAt !== undefined) {
      timeline.push(
        at(plan.postgresCrashAt, 'Postgres killed (SIGKILL of the postmaster and its backends)', async () => {
          const from = Date.now();
          pgCrashes.push(await pg.crash());
          await sleep(outage);
          await pg.start();
          const window = { what: 'Postgres killed and recovering', from, to: Date.now() };
          ingestOutages.push(window);
          infraOutages.push(window);
          log(`${t()} Postgres back after crash recovery`);
        }),
      );
    }
    for (const window of plan.providerFaults) {
      timeline.push(
        at(window.at, `providers fail 30% (5xx / no answer / answer lost) for ${window.seconds} s`, async () => {
          Object.values(faults).forEach((f) => f.set(PROVIDER_FAULTS));
          await sleep(window.seconds * 1000);
          Object.values(faults).forEach((f) => f.clear());
          log(`${t()} providers healthy again`);
        }),
      );
    }
    timeline.push(sleep(plan.loadSeconds * 1000).then(() => load.stop()));
    await Promise.all(timeline);
    log(`load stopped: ${JSON.stringify(load.statuses())} (status: requests)`);

    const accepted = load.accepted();
    const quiet = await waitForQuiescence(
      pool,
      accepted.map((e) => e.id),
      plan.settleSeconds * 1000,
    );
    clearInterval(progress);
    log(`${quiet.settled ? 'settled' : 'NOT settled'} ${quiet.seconds.toFixed(0)} s after the load stopped`);
    if (!quiet.settled) {
      log(`deliveries ${await statusCounts(pool)}; jobs ${await jobCounts(redis.url)}`);
      log(`processes ${JSON.stringify(supervisor.stats())}`);
    }

    const interruptions: Interruption[] = supervisor.kills.map((k) => ({
      what: `kill -9 ${k.name}`,
      channels: k.roles,
      at: k.signalAt,
    }));
    const figures = await audit(
      pool,
      accepted,
      ledger,
      interruptions,
      RUN_SETTINGS.deliveryLeaseSeconds * 1000,
      loadStartedAt,
    );
    for (const line of figures.unexplained) log(`UNEXPLAINED duplicate: ${line}`);
    for (const line of figures.explained) log(`duplicate: ${line}`);

    const within = (windows: OutageWindow[], at: number) =>
      windows.find((w) => at >= w.from && at <= w.to + OUTAGE_MARGIN_MS);
    // A crash is explained only as a boot that failed because Postgres or Redis was down at the time:
    // a running process must ride an outage out.
    const crashes = supervisor.crashes.map((c) => ({
      ...c,
      explainedBy: !c.booted && UNREACHABLE.test(c.said) ? within(infraOutages, c.at)?.what : undefined,
    }));
    const kills: KillSummary[] = supervisor.kills.map((k: KillRecord) => ({
      name: k.name,
      app: k.app,
      signal: k.signal,
      cameBack: k.backAt !== undefined,
      workAfter: k.next ? supervisor!.work(k.app, k.next) : 0,
      ...(k.inFlight !== undefined && { inFlight: k.inFlight }),
    }));
    const injected = Object.fromEntries(
      Object.entries(faults).map(([channel, f]) => [channel, { ...f.injected }]),
    ) as ChaosResult['injected'];
    const loadFigures = judgeLoad(load.sent, ingestOutages, [
      ...supervisor.kills.filter((k) => k.app === 'api').map((k) => k.signalAt),
      ...ingestOutages.filter((w) => w.what.startsWith('Postgres')).map((w) => w.from),
    ]);
    const errors = supervisor
      .errors()
      .filter((e) => e.at === undefined || !within([...infraOutages, ...ingestOutages], e.at))
      .map((e) => e.text);
    const result: ChaosResult = {
      plan,
      figures,
      settled: quiet.settled,
      load: loadFigures,
      windows: [...ingestOutages, ...infraOutages.filter((w) => !ingestOutages.includes(w))],
      kills,
      faultErrors,
      crashes,
      postgres: { crashes: pgCrashes, recoveries: await pg.recoveries() },
      redis: { crashes: redisCrashes, keptAcrossCrash },
      injected,
      errors,
      seconds: (Date.now() - startedAt) / 1000,
      table: '',
    };
    result.table = summaryTable(result);
    log(result.table);
    return result;
  } finally {
    await supervisor?.stop();
    if (supervisor) log(`process logs in ${await saveLogs(supervisor)}`);
    await pool.end().catch(() => undefined);
    await Promise.all([smtp.stop(), twilio.stop(), fcm.stop(), receiver.stop()]);
    await Promise.all([pg.destroy(), redis.destroy()]);
  }
}

/** Sorts every request into inside an outage window (its span overlaps one, plus the margin) or outside. */
function judgeLoad(sent: SentEvent[], windows: OutageWindow[], faultsAt: number[]): LoadFigures {
  const count = (events: SentEvent[]) => {
    const counts: Record<string, number> = {};
    for (const e of events) counts[e.status] = (counts[e.status] ?? 0) + 1;
    return counts;
  };
  const overlaps = (e: SentEvent) => windows.some((w) => e.sentAt <= w.to + OUTAGE_MARGIN_MS && e.doneAt >= w.from);
  const inside = sent.filter(overlaps);
  const outside = sent.filter((e) => !overlaps(e));
  const origin = sent[0]?.sentAt ?? 0;
  return {
    offered: sent.length,
    statuses: count(sent),
    inside: { offered: inside.length, statuses: count(inside) },
    outside: {
      offered: outside.length,
      accepted: outside.filter((e) => e.status === 202).length,
      statuses: count(outside),
      refused: outside
        .filter((e) => e.status !== 202)
        .slice(0, 10)
        .map(
          (e) =>
            `${e.tag}: ${e.status} sent t+${((e.sentAt - origin) / 1000).toFixed(1)}s, done +${e.doneAt - e.sentAt} ms`,
        ),
    },
    acceptedJustBeforeAFault: sent.filter(
      (e) => e.status === 202 && faultsAt.some((at) => e.doneAt <= at && e.doneAt > at - 1000),
    ).length,
  };
}

/** The run's figures as one table per part: per channel, then the load and the faults. */
function summaryTable(r: ChaosResult): string {
  const columns = [
    'deliveries',
    'delivered',
    'dead',
    'failed',
    'skipped',
    'suppressed',
    'rate_limited',
    'stuck',
    'lost',
    'duplicates',
    'byLostAnswer',
    'byKill',
    'unexplained',
    'outsideClaim',
  ] as const;
  const rows = [
    ['channel', ...columns, 'faults err/timeout/lost'],
    ...AUDITED_CHANNELS.map((channel) => {
      const f = r.figures.channels[channel];
      const i = channel === 'inapp' ? undefined : r.injected[channel];
      return [channel, ...columns.map((c) => String(f[c])), i ? `${i.error}/${i.timeout}/${i.lostAnswer}` : '-'];
    }),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const table = rows.map((row) => row.map((cell, c) => cell.padStart(widths[c])).join('  ')).join('\n');
  const kills = r.kills;
  const insideRefused = Object.entries(r.load.inside.statuses).filter(([s]) => s !== '202');
  return [
    `chaos (${r.plan.size}): ${r.figures.accepted} events accepted × ${NOTIFICATIONS_PER_EVENT} channels, ` +
      `${r.settled ? 'settled' : 'NOT settled'}, re-sent after recorded delivered ${r.figures.resentAfterDelivered}, ${r.seconds.toFixed(0)} s`,
    table,
    `load: offered ${r.load.offered} ${JSON.stringify(r.load.statuses)}; outside outages ${r.load.outside.accepted}/${r.load.outside.offered} accepted ` +
      `(${((100 * r.load.outside.accepted) / Math.max(1, r.load.outside.offered)).toFixed(2)} %); inside ${r.load.inside.offered} ` +
      `(refused ${JSON.stringify(Object.fromEntries(insideRefused))}); 202s in the second before an api kill or a Postgres crash ${r.load.acceptedJustBeforeAFault}`,
    `kills: ${kills.length} seen dead (api ${kills.filter((k) => k.app === 'api').length}, ` +
      `in flight at api kills ${kills.reduce((n, k) => n + (k.inFlight ?? 0), 0)}), came back ${kills.filter((k) => k.cameBack).length}, ` +
      `worked after ${kills.filter((k) => k.workAfter > 0).length}; crashes ${r.crashes.length} ` +
      `(unexplained ${r.crashes.filter((c) => !c.explainedBy).length}); fault errors ${r.faultErrors.length}`,
    `Postgres: ${r.postgres.crashes.length} crash (${r.postgres.crashes.join(', ')}), ${r.postgres.recoveries} crash recovery; ` +
      `Redis: ${r.redis.crashes.length} crash (${r.redis.crashes.join(', ')}), last write kept across a crash: ${r.redis.keptAcrossCrash.join(', ')}`,
    `windows: ${r.windows.map((w) => `${w.what} ${((w.to - w.from) / 1000).toFixed(1)} s`).join('; ')}`,
  ].join('\n');
}

async function redisCommand<T>(url: string, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}

async function statusCounts(pool: Pool): Promise<string> {
  const { rows } = await pool
    .query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM deliveries GROUP BY status')
    .catch(() => ({ rows: [] }));
  return JSON.stringify(Object.fromEntries(rows.map((r) => [r.status, r.n])));
}

async function jobCounts(redisUrl: string): Promise<string> {
  const counts: Record<string, unknown> = {};
  for (const name of Object.values(QueueName)) {
    const queue = new Queue(name, { connection: { url: redisUrl }, prefix: '{chaos}' });
    counts[name] = await queue.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized').catch(String);
    await queue.close();
  }
  return JSON.stringify(counts);
}

/** Every process's stdout and stderr, one file each, for the post-mortem. */
async function saveLogs(supervisor: Supervisor): Promise<string> {
  const dir = path.join(__dirname, '..', '..', '.herald', 'test', 'chaos-logs', new Date().toISOString());
  await mkdir(dir, { recursive: true });
  await Promise.all(
    supervisor.history.map((p, i) =>
      writeFile(
        path.join(dir, `${i}-${p.child.pid}.log`),
        [p.child.spawnargs.slice(1).join(' '), ...p.logs.map((l) => JSON.stringify(l)), p.stderr()].join('\n'),
      ),
    ),
  );
  return dir;
}

function expectStatus(answer: { status: number; body: unknown }, status: number, what: string): void {
  if (answer.status !== status) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
}

function shuffle<T>(items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
