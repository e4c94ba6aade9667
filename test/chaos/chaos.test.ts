import { AUDITED_CHANNELS, type AuditedChannel, type ExplainingOutcome } from '../helpers/chaos-audit';
import { ensureBuilt } from '../helpers/processes';
import {
  NOTIFICATIONS_PER_EVENT,
  PROVIDER_FAULTS,
  RUN_SETTINGS,
  runChaos,
  type ChaosPlan,
  type ChaosResult,
} from './chaos-run';

// The CI size (npm test): 50 s of load, 4 kill -9 (one of them the api), a Redis crash, a Postgres
// crash, Redis lost entirely, and one provider fault window; about three minutes.
const CI: ChaosPlan = {
  size: 'ci',
  loadSeconds: 50,
  eventsPerSecond: 4,
  kills: 4,
  outageSeconds: 4,
  redisCrashAt: 12,
  postgresCrashAt: 24,
  redisEmptyRestartAt: 36,
  providerFaults: [{ at: 5, seconds: 20 }],
  settleSeconds: 150,
};

/**
 * The full size (npm run test:chaos, HERALD_FULL=1), set by the environment:
 *   HERALD_CHAOS_NOTIFICATIONS  notifications to send, one per channel of each event (default 5,000)
 *   HERALD_CHAOS_LOAD_SECONDS   over how long (default 300)
 *   HERALD_CHAOS_KILLS          kill -9s of workers and the api (default 20; every fourth the api)
 *   HERALD_CHAOS_SETTLE_SECONDS the longest the deliveries may take to settle after the load (default 420, or the load's length if longer)
 * The goal Herald is held to is HERALD_CHAOS_NOTIFICATIONS=100000 HERALD_CHAOS_KILLS=20 in 30 minutes.
 * The faults keep their places in the load, whatever its length.
 */
function fullPlan(env: NodeJS.ProcessEnv): ChaosPlan {
  const number = (name: string, fallback: number) => {
    const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got ${env[name]})`);
    return value;
  };
  const notifications = number('HERALD_CHAOS_NOTIFICATIONS', 5000);
  const loadSeconds = number('HERALD_CHAOS_LOAD_SECONDS', 300);
  const share = (fraction: number) => Math.round(loadSeconds * fraction);
  return {
    size: 'full',
    loadSeconds,
    eventsPerSecond: notifications / NOTIFICATIONS_PER_EVENT / loadSeconds,
    kills: Math.round(number('HERALD_CHAOS_KILLS', 20)),
    outageSeconds: 6,
    redisCrashAt: share(0.2),
    postgresCrashAt: share(0.42),
    redisEmptyRestartAt: share(0.7),
    providerFaults: [
      { at: share(0.1), seconds: share(0.17) },
      { at: share(0.55), seconds: share(0.12) },
    ],
    settleSeconds: number('HERALD_CHAOS_SETTLE_SECONDS', Math.max(420, loadSeconds)),
  };
}

const plan = process.env.HERALD_FULL === '1' ? fullPlan(process.env) : CI;

/**
 * The most of each outcome other than delivered that the run's faults can cause, per delivery
 * channel, and why. Anything above is a Herald defect.
 */
function outcomeBounds(p: ChaosPlan): Record<ExplainingOutcome, { most: number; why: string; odds?: number }> {
  // A delivery dies only when every attempt of its budget meets a fault. No provider is ever down
  // here: in a fault window each attempt fails with the window's rate, so a delivery whose whole
  // budget fell in windows dies with at most rate^(attempts − 3) (three attempts allowed for the
  // kills and crashes that can also hit it), over the deliveries sent in the windows.
  const rate = PROVIDER_FAULTS.errorRate + PROVIDER_FAULTS.timeoutRate + PROVIDER_FAULTS.lostAnswerRate;
  const inWindows = p.providerFaults.reduce((n, w) => n + w.seconds, 0) * p.eventsPerSecond * 4;
  const expectedDead = inWindows * rate ** (RUN_SETTINGS.retryMaxAttempts - 3);
  return {
    dead: {
      most: 0,
      why:
        `no provider is down, only failing ${Math.round(rate * 100)}% of requests in windows: with ${RUN_SETTINGS.retryMaxAttempts} ` +
        `attempts, at most ${expectedDead.toExponential(1)} of the ${Math.round(inWindows)} external deliveries sent in them would die`,
      odds: expectedDead,
    },
    failed: { most: 0, why: 'no permanent error is injected: every fault is a 5xx, a timeout or a lost answer' },
    skipped: { most: 0, why: 'no event is cancelled and no rule has conditions' },
    suppressed: { most: 0, why: 'no address bounces or complains, so none is suppressed' },
    rate_limited: { most: 0, why: 'no rate limit is configured' },
  };
}

describe(`chaos (${plan.size}): ${Math.round(plan.loadSeconds * plan.eventsPerSecond * NOTIFICATIONS_PER_EVENT)} notifications, ${plan.kills} kills`, () => {
  let result: ChaosResult;

  const log = (line: string) => process.stdout.write(`[chaos] ${line}\n`);

  beforeAll(async () => {
    const build = await ensureBuilt();
    log(`entry points: ${build.built ? `built in ${build.seconds.toFixed(0)} s` : build.reason}`);
  }, 600_000);

  // Booting six processes, the load, settling, and the audit.
  beforeAll(
    async () => {
      result = await runChaos(plan, log);
    },
    (plan.loadSeconds + plan.settleSeconds + 300) * 1000,
  );

  const perChannel = <T>(pick: (channel: AuditedChannel) => T) =>
    Object.fromEntries(AUDITED_CHANNELS.map((c) => [c, pick(c)])) as Record<AuditedChannel, T>;

  it('loses nothing: every 202 is in Postgres (api and Postgres killed meanwhile) and audited to its end', () => {
    const { figures } = result;
    expect({
      lost: perChannel((c) => figures.channels[c].lost),
      stuck: perChannel((c) => figures.channels[c].stuck),
      examples: figures.examples,
      settled: result.settled,
    }).toEqual({ lost: perChannel(() => 0), stuck: perChannel(() => 0), examples: [], settled: true });
  });

  it('every channel delivered every accepted event; other outcomes only as far as the faults explain them', () => {
    const { figures } = result;
    const bounds = outcomeBounds(plan);
    // The plan itself: a bound of 0 dead holds only while the random faults cannot plausibly use up a budget.
    expect(bounds.dead.odds).toBeLessThan(0.01);
    // The faults that could end a delivery wrongly happened: every external channel met a transient error and
    // a timeout (each fault window starts with one of each kind), so a bound of 0 failed is a real check.
    const external = AUDITED_CHANNELS.filter((c): c is Exclude<AuditedChannel, 'inapp'> => c !== 'inapp');
    expect(external.filter((c) => !(result.injected[c].error >= 1 && result.injected[c].timeout >= 1))).toEqual([]);
    // Real progress: the api accepted at least 99% of what was offered outside the outages (202s inside
    // them do not count towards it; see the last test), and each channel delivered every accepted event but
    // what the bounds allow.
    expect(result.load.outside.accepted).toBeGreaterThanOrEqual(0.99 * result.load.outside.offered);
    const outcomes = Object.keys(bounds) as ExplainingOutcome[];
    const over = AUDITED_CHANNELS.flatMap((channel) =>
      outcomes
        .filter((outcome) => figures.channels[channel][outcome] > bounds[outcome].most)
        .map((o) => `${channel} ${o} ${figures.channels[channel][o]} > ${bounds[o].most}: ${bounds[o].why}`),
    );
    expect(over).toEqual([]);
    const allowed = (c: AuditedChannel) => outcomes.reduce((n, o) => n + figures.channels[c][o], 0);
    expect(perChannel((c) => figures.channels[c].delivered)).toEqual(perChannel((c) => figures.accepted - allowed(c)));
  });

  it('duplicates: none in-app; each external one explained by a kill or a lost answer; none outside a claim', () => {
    const { figures, injected } = result;
    // The faults that make duplicates happened: answers were lost on every external channel.
    expect(perChannel((c) => (c === 'inapp' ? 1 : Math.min(1, injected[c].lostAnswer)))).toEqual(perChannel(() => 1));
    expect({
      unexplained: perChannel((c) => figures.channels[c].unexplained),
      outsideClaim: perChannel((c) => figures.channels[c].outsideClaim),
      webhookIdChanged: figures.channels.webhook.webhookIdChanged,
      inapp: figures.channels.inapp.duplicates,
      resentAfterDelivered: figures.resentAfterDelivered,
      lines: figures.unexplained,
    }).toEqual({
      unexplained: perChannel(() => 0),
      outsideClaim: perChannel(() => 0),
      webhookIdChanged: 0,
      inapp: 0,
      resentAfterDelivered: 0,
      lines: [],
    });
    // Every duplicate came from a distinct interrupted send: no more than the answers lost and the kills' victims.
    for (const channel of AUDITED_CHANNELS.filter((c) => c !== 'inapp')) {
      const f = figures.channels[channel];
      expect({ channel, duplicates: f.duplicates }).toEqual({ channel, duplicates: f.byLostAnswer + f.byKill });
      expect(f.byLostAnswer).toBeLessThanOrEqual(injected[channel as Exclude<AuditedChannel, 'inapp'>].lostAnswer);
    }
  });

  it('every kill was seen, and every killed process came back and worked; no crash the faults do not explain', () => {
    const { kills } = result;
    const apiKills = Math.floor((plan.kills + 2) / 4);
    expect({
      faultErrors: result.faultErrors,
      seenDead: kills.map((k) => k.signal),
      apiKills: kills.filter((k) => k.app === 'api').length,
      // the api kills landed while requests were in flight
      inFlightAtApiKills: kills.reduce((n, k) => n + (k.inFlight ?? 0), 0) > 0,
      notBackOrIdle: kills.filter((k) => !k.cameBack || k.workAfter === 0),
      unexplainedCrashes: result.crashes.filter((c) => !c.explainedBy),
    }).toEqual({
      faultErrors: [],
      seenDead: Array(plan.kills).fill('SIGKILL'),
      apiKills,
      inFlightAtApiKills: apiKills > 0,
      notBackOrIdle: [],
      unexplainedCrashes: [],
    });
  });

  it('Postgres went through crash recovery, Redis came back from its AOF with what it had answered', () => {
    const crashes = (at: number | undefined) => (at === undefined ? [] : ['SIGKILL']);
    expect(result.postgres.crashes).toEqual(crashes(plan.postgresCrashAt));
    expect(result.postgres.recoveries).toBe(result.postgres.crashes.length);
    expect(result.redis.crashes).toEqual([...crashes(plan.redisCrashAt), ...crashes(plan.redisEmptyRestartAt)]);
    expect(result.redis.keptAcrossCrash).toEqual(plan.redisCrashAt === undefined ? [] : [true]);
  });

  it('the api refused only inside outage windows (plus the margin), and accepted ≥ 99 % outside them', () => {
    const { load } = result;
    // Refusals (503), requests cut or refused (0) and requests not sent because too many hung (-1)
    // only while the api or Postgres was down; no other status at all.
    const unexpected = Object.keys(load.statuses).filter((status) => !['202', '503', '0', '-1'].includes(status));
    expect({ unexpected, statuses: load.statuses }).toEqual({ unexpected: [], statuses: load.statuses });
    // A 503 only inside an outage window; outside them at least 99 % accepted. `shown` is the first ten
    // requests outside the windows that were not accepted, there only to be printed when this fails.
    const shown = load.outside.refused;
    expect({
      refused503Outside: load.outside.statuses['503'] ?? 0,
      accepted: load.outside.accepted >= 0.99 * load.outside.offered,
      shown,
    }).toEqual({ refused503Outside: 0, accepted: true, shown });
    // Error-level lines outside the outage windows (those inside are the outages' own), and stderr.
    expect(result.errors.filter((e) => !/ECONNREFUSED|Connection is closed|terminating connection/.test(e))).toEqual(
      [],
    );
  });
});
