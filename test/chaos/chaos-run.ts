import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Pool } from 'pg';
import { migrate } from '../../libs/db/src/migrate';
import { freePort } from '../../libs/services/src/free-port';
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
import { audit, ReceivedLedger, waitForQuiescence, type ChaosFigures } from '../helpers/chaos-audit';
import { SteadyLoad } from '../helpers/chaos-load';
import { Supervisor, type ProcessSpec } from '../helpers/chaos-processes';
import { ChaosPostgres, ChaosRedis } from '../helpers/chaos-servers';
import { createDatabase } from '../helpers/databases';
import { createTenant } from '../helpers/tenant';

/** One chaos run: how long the load lasts, how hard it is, and what goes wrong when (seconds into the load). */
export interface ChaosPlan {
  size: 'full' | 'ci';
  loadSeconds: number;
  eventsPerSecond: number;
  /** kill -9 of random worker processes, spread over the load */
  kills: number;
  /** how long Redis and Postgres stay down */
  outageSeconds: number;
  redisRestartAt?: number;
  redisEmptyRestartAt?: number;
  postgresRestartAt?: number;
  /** windows in which every provider answers 30% of requests with a 5xx or not at all */
  providerFaults: { at: number; seconds: number }[];
  /** the longest the deliveries may take to settle once the load has stopped */
  settleSeconds: number;
}

export interface ChaosResult {
  figures: ChaosFigures;
  settled: boolean;
  /** what the api answered the load: 202, 503, 0 (no answer) … */
  answers: Record<string, number>;
  processes: ReturnType<Supervisor['stats']>;
  errors: string[];
  seconds: number;
  summary: string;
}

// Relay, fan-out and housekeeping twice; each channel on two of three channel workers.
const PROCESSES: ProcessSpec[] = [
  { name: 'api', app: 'api' },
  { name: 'relay-a', app: 'worker', roles: 'relay,fanout,housekeeping' },
  { name: 'relay-b', app: 'worker', roles: 'relay,fanout,housekeeping' },
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
// Held past the clients' timeouts (SMTP socket and webhook: 10 s), within the 30 s lease. The
// timeouts are that long because the sandboxes share the test process with the load: on a busy
// machine a shorter one expires while a request the receiver will still take waits in line.
const PROVIDER_FAULTS = { errorRate: 0.15, timeoutRate: 0.15, timeoutMs: 12_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

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
  const faults: FaultInjector[] = [smtp.faults, twilio.faults, fcm.faults, receiver.faults];
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
      RETRY_MAX_ATTEMPTS: '6',
      RETRY_BASE_DELAY_MS: '250',
      RETRY_MAX_DELAY_MS: '4000',
      DELIVERY_LEASE_SECONDS: '30',
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
    load.start();
    const progress = setInterval(() => {
      void statusCounts(pool).then((counts) =>
        log(
          `t+${((Date.now() - loadStartedAt) / 1000).toFixed(0)}s accepted ${load.accepted().length}, deliveries ${counts}`,
        ),
      );
    }, 20_000);
    const at = (seconds: number, what: string, action: () => Promise<void>) =>
      (async () => {
        await sleep(Math.max(0, loadStartedAt + seconds * 1000 - Date.now()));
        log(`t+${((Date.now() - loadStartedAt) / 1000).toFixed(0)}s ${what}`);
        await action();
      })();
    const outage = plan.outageSeconds * 1000;
    const workers = supervisor.names('worker');
    const timeline: Promise<void>[] = [];
    for (let i = 0; i < plan.kills; i++) {
      const slotSeconds = (plan.loadSeconds - 10) / plan.kills;
      const when = 5 + slotSeconds * (i + Math.random());
      const victim = workers[Math.floor(Math.random() * workers.length)];
      timeline.push(at(when, `kill -9 ${victim}`, async () => supervisor!.kill(victim)));
    }
    if (plan.redisRestartAt !== undefined) {
      timeline.push(
        at(plan.redisRestartAt, 'Redis stopped', async () => {
          await redis.stop();
          await sleep(outage);
          await redis.start();
          log('Redis back, with its data');
        }),
      );
    }
    if (plan.redisEmptyRestartAt !== undefined) {
      timeline.push(
        at(plan.redisEmptyRestartAt, 'Redis stopped, its AOF and RDB deleted', async () => {
          await redis.stop();
          await redis.wipe();
          await sleep(outage);
          await redis.start();
          log('Redis back, EMPTY');
        }),
      );
    }
    if (plan.postgresRestartAt !== undefined) {
      timeline.push(
        at(plan.postgresRestartAt, 'Postgres stopped', async () => {
          await pg.stop();
          await sleep(outage);
          await pg.start();
          log('Postgres back');
        }),
      );
    }
    for (const window of plan.providerFaults) {
      timeline.push(
        at(window.at, `providers fail 30% (5xx/timeouts) for ${window.seconds} s`, async () => {
          faults.forEach((f) => f.set(PROVIDER_FAULTS));
          await sleep(window.seconds * 1000);
          faults.forEach((f) => f.clear());
          log('providers healthy again');
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
    const figures = await audit(pool, accepted, ledger, receiver, loadStartedAt);
    for (const line of figures.duplicateExamples) log(`duplicate: ${line}`);
    const seconds = (Date.now() - startedAt) / 1000;
    const answers = load.statuses();
    const processes = supervisor.stats();
    const kills = Object.values(processes).reduce((n, p) => n + p.kills, 0);
    const crashes = Object.values(processes).reduce((n, p) => n + p.crashes, 0);
    const d = figures.duplicates;
    const summary =
      `chaos (${plan.size}): accepted ${figures.accepted}, deliveries ${figures.deliveries}, ` +
      `delivered ${figures.delivered}, dead ${figures.dead}, failed ${figures.failed}, stuck ${figures.stuck}, ` +
      `duplicates inapp ${d.inapp} webhook ${d.webhook} email ${d.email} sms ${d.sms} push ${d.push} ` +
      `(re-sent after recorded delivered ${figures.resentAfterDelivered}, outside a claim ${figures.sentOutsideClaim}), ` +
      `lost ${figures.lost} | not accepted ${load.sent.length - figures.accepted} ${JSON.stringify(answers)}, ` +
      `kills ${kills}, crashes ${crashes}, provider faults ${JSON.stringify(injected(faults))}, ${seconds.toFixed(0)} s`;
    log(summary);
    return { figures, settled: quiet.settled, answers, processes, errors: supervisor.errors(), seconds, summary };
  } finally {
    await supervisor?.stop();
    if (supervisor) log(`process logs in ${await saveLogs(supervisor)}`);
    await pool.end().catch(() => undefined);
    await Promise.all([smtp.stop(), twilio.stop(), fcm.stop(), receiver.stop()]);
    await Promise.all([pg.destroy(), redis.destroy()]);
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

function injected(faults: FaultInjector[]): { error: number; timeout: number } {
  return faults.reduce(
    (sum, f) => ({ error: sum.error + f.injected.error, timeout: sum.timeout + f.injected.timeout }),
    { error: 0, timeout: 0 },
  );
}
