import type { Baselines } from './baselines';
import type { Latency, Throughput, TopicSend } from './e2e';
import type { IngestFigures } from './ingest';

export interface TargetResults {
  label: string;
  commit: string;
  ingest: { split: IngestFigures; allInOne: IngestFigures };
  e2e: { fanout1: Throughput; fanout10: Throughput };
  latency: Latency;
  topicSend: TopicSend;
  /** an idle worker running one channel role (in-app), RSS MB once settled */
  idleWorkerMb: number;
  /** end to end at fan-out 10 with 1 and with 2 worker processes, several runs each (in-app/s) */
  scale: { one: number[]; two: number[] };
}

export interface Results {
  at: string;
  quick: boolean;
  machine: { cpus: number; cpuModel: string; node: string; loadavg: number[] };
  /** measured before and after every target's runs, so load drift shows */
  baselines: { before: Baselines; after: Baselines };
  targets: TargetResults[];
  seconds: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : 0;
};

/** A baseline as the mean of its before and after measurements. */
function base(r: Results) {
  const mean = (f: (b: Baselines) => number) => (f(r.baselines.before) + f(r.baselines.after)) / 2;
  return {
    pg: mean((b) => b.pgInsertsPerSecond),
    pgGroup: mean((b) => b.pgGroupInsertsPerSecond),
    bull: mean((b) => b.bullmqJobsPerSecond),
    http: mean((b) => b.http.rps),
  };
}

/** Each target's figures as ratios against the run's baselines, and whether each of issue 19's targets holds. */
export function ratios(r: Results) {
  const b = base(r);
  return Object.fromEntries(
    r.targets.map((t) => {
      const ingest = (i: IngestFigures) => ({
        vsPgInsert: i.single.rps / b.pg,
        vsPgGroupInsert: i.single.rps / b.pgGroup,
        vsHttp: i.single.rps / b.http,
        p99Ms: i.single.p99,
        halfLoadP99Ms: i.halfLoad.p99,
      });
      const q = {
        ingestSplit: ingest(t.ingest.split),
        ingestAllInOne: ingest(t.ingest.allInOne),
        inappFanout1VsBullmq: t.e2e.fanout1.inappPerSecond / b.bull,
        inappFanout10VsBullmq: t.e2e.fanout10.inappPerSecond / b.bull,
        webhookFanout1VsBullmq: t.e2e.fanout1.webhookPerSecond / b.bull,
        costFanout1: t.e2e.fanout1.perDelivery.net,
        costFanout10: t.e2e.fanout10.perDelivery.net,
        topicSendVsBullmq: t.topicSend.deliveriesPerSecond / b.bull,
        topicSendSeconds: t.topicSend.seconds,
        topicSendWorkerMaxMb: t.topicSend.workerRssMb.max,
        smallTenantP99Ms: t.topicSend.smallTenant.p99Ms,
        idleWorkerMb: t.idleWorkerMb,
        apiPeakMb: t.ingest.split.apiPeakMb,
        latencyP99Ms: t.latency.p99Ms,
        latencyOffered: t.latency.offeredPerSecond,
        twoWorkersVsOne: median(t.scale.two) / median(t.scale.one),
      };
      const ingestMet = (i: ReturnType<typeof ingest>) =>
        i.vsPgInsert >= 1 && i.vsHttp >= 0.25 && i.p99Ms < 50 && i.halfLoadP99Ms < 50;
      const met = {
        inappFanout1: q.inappFanout1VsBullmq >= 0.5,
        inappFanout10: q.inappFanout10VsBullmq >= 1,
        webhook: q.webhookFanout1VsBullmq >= 0.25,
        costFanout10: q.costFanout10.pgCommits <= 0.3 && q.costFanout10.redisCommands <= 4,
        costFanout1: q.costFanout1.pgCommits <= 1 && q.costFanout1.redisCommands <= 10,
        // 100,000 recipients in ≤ 30 s is the target's size; a smaller (quick) send is judged by its rate alone
        topicSend: q.topicSendVsBullmq >= 1 && (t.topicSend.recipients < 100_000 || q.topicSendSeconds <= 30),
        workerRss: q.topicSendWorkerMaxMb < 250,
        idleWorker: q.idleWorkerMb < 120,
        apiRss: q.apiPeakMb < 300,
        latency:
          q.latencyP99Ms < 500 &&
          q.latencyOffered >= 1000 &&
          t.latency.achievedPerSecond >= 0.95 * t.latency.offeredPerSecond,
        ingestSplit: ingestMet(q.ingestSplit),
        ingestAllInOne: ingestMet(q.ingestAllInOne),
        twoWorkers: q.twoWorkersVsOne >= 0.9,
      };
      return [t.label, { ...q, met }];
    }),
  );
}

const n = (x: number, digits = 0) =>
  x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function report(r: Results): void {
  const b = base(r);
  const q = ratios(r);
  const headers = ['figure', ...r.targets.map((t) => `${t.label} (${t.commit})`), 'target'];
  const rows: string[][] = [];
  const row = (figure: string, value: (t: TargetResults) => string, target = '') =>
    rows.push([figure, ...r.targets.map(value), target]);
  const met = (key: keyof ReturnType<typeof ratios>[string]['met']) => (t: TargetResults) =>
    q[t.label].met[key] ? 'met' : 'NOT met';
  const before = r.baselines.before;
  const after = r.baselines.after;
  rows.push([
    'baseline: Postgres 1-row inserts/s (before / after)',
    `${n(before.pgInsertsPerSecond)} / ${n(after.pgInsertsPerSecond)}`,
    '',
  ]);
  rows.push([
    'baseline: Postgres group-committed inserts/s',
    `${n(before.pgGroupInsertsPerSecond)} / ${n(after.pgGroupInsertsPerSecond)}`,
    '',
  ]);
  rows.push([
    'baseline: BullMQ no-op jobs/s',
    `${n(before.bullmqJobsPerSecond)} / ${n(after.bullmqJobsPerSecond)}`,
    '',
  ]);
  rows.push([
    '  Redis commands per no-op job',
    `${before.bullmqRedisCommandsPerJob.toFixed(1)} / ${after.bullmqRedisCommandsPerJob.toFixed(1)}`,
    '',
  ]);
  rows.push(['baseline: bare Fastify req/s', `${n(before.http.rps)} / ${n(after.http.rps)}`, '']);
  for (const mode of ['split', 'allInOne'] as const) {
    const name = mode === 'split' ? 'api alone' : 'all-in-one (npm start)';
    row(
      `ingest, ${name}: events/s (× pg, × group pg, × http)`,
      (t) => {
        const i = t.ingest[mode];
        return `${n(i.single.rps)} (${(i.single.rps / b.pg).toFixed(2)}, ${(i.single.rps / b.pgGroup).toFixed(2)}, ${(i.single.rps / b.http).toFixed(2)})`;
      },
      '≥ 1.0 × pg, ≥ 0.25 × http',
    );
    row(
      `  p99 ms at full / half load`,
      (t) => `${t.ingest[mode].single.p99} / ${t.ingest[mode].halfLoad.p99}`,
      '< 50 / < 50',
    );
    row(`  batch of 100: events/s (counted per item)`, (t) => n(t.ingest[mode].batch.eventsPerSecond), '');
    row(`  met?`, met(mode === 'split' ? 'ingestSplit' : 'ingestAllInOne'));
  }
  for (const f of ['fanout1', 'fanout10'] as const) {
    const fan = f === 'fanout1' ? 1 : 10;
    row(
      `end to end, fan-out ${fan}: in-app/s (× bullmq)`,
      (t) => `${n(t.e2e[f].inappPerSecond)} (${(t.e2e[f].inappPerSecond / b.bull).toFixed(2)})`,
      fan === 1 ? '≥ 0.5 × bullmq' : '≥ 1.0 × bullmq',
    );
    row(`  met?`, met(f === 'fanout1' ? 'inappFanout1' : 'inappFanout10'));
    row(
      `  webhooks/s (× bullmq)`,
      (t) => `${n(t.e2e[f].webhookPerSecond)} (${(t.e2e[f].webhookPerSecond / b.bull).toFixed(2)})`,
      fan === 1 ? '≥ 0.25 × bullmq' : '',
    );
    row(
      `  per delivery, net of idle: pg commits / Redis commands (raw)`,
      (t) => {
        const c = t.e2e[f].perDelivery;
        return `${c.net.pgCommits.toFixed(2)} / ${c.net.redisCommands.toFixed(1)} (${c.raw.pgCommits.toFixed(2)} / ${c.raw.redisCommands.toFixed(1)})`;
      },
      fan === 1 ? '≤ 1 / ≤ 10' : '≤ 0.3 / ≤ 4',
    );
    row(`  met?`, met(f === 'fanout1' ? 'costFanout1' : 'costFanout10'));
  }
  row(
    'trigger→sent p50 / p99 ms (offered/s, accepted/s)',
    (t) =>
      `${n(t.latency.p50Ms)} / ${n(t.latency.p99Ms)} (${n(t.latency.offeredPerSecond)}, ${n(t.latency.achievedPerSecond)})`,
    'p99 < 500 at 1,000/s',
  );
  row('  met?', met('latency'));
  row(
    'topic send: deliveries/s (× bullmq), seconds',
    (t) =>
      `${n(t.topicSend.deliveriesPerSecond)} (${(t.topicSend.deliveriesPerSecond / b.bull).toFixed(2)}), ${n(t.topicSend.seconds, 1)} s for ${n(t.topicSend.recipients)}`,
    '≥ 1.0 × bullmq; 100,000 in ≤ 30 s',
  );
  row('  met?', met('topicSend'));
  row(
    '  worker RSS MB p50 / max',
    (t) => `${n(t.topicSend.workerRssMb.p50)} / ${n(t.topicSend.workerRssMb.max)}`,
    '< 250',
  );
  row(
    '  small tenant beside it: trigger→sent p50 / p99 ms',
    (t) =>
      `${n(t.topicSend.smallTenant.p50Ms)} / ${n(t.topicSend.smallTenant.p99Ms)} (${t.topicSend.smallTenant.sent} sent)`,
    '',
  );
  row('idle one-role worker RSS MB', (t) => n(t.idleWorkerMb), '< 120');
  row('api peak RSS MB under ingest load', (t) => n(t.ingest.split.apiPeakMb), '< 300');
  row(
    '2 workers vs 1 at fan-out 10 (medians, in-app/s)',
    (t) =>
      `${(median(t.scale.two) / median(t.scale.one)).toFixed(2)} (${n(median(t.scale.two))} / ${n(median(t.scale.one))})`,
    '≥ 0.9',
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) => `| ${headers.map((_, i) => (cells[i] ?? '').padEnd(widths[i])).join(' | ')} |`;
  console.log();
  console.log(
    `Herald bench${r.quick ? ' (--quick: smoke, figures not meaningful)' : ''}, ${r.machine.cpus} × ${r.machine.cpuModel}, node ${r.machine.node}, ${r.at}`,
  );
  console.log(line(headers));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const cells of rows)
    console.log(
      line(
        cells.length === headers.length ? cells : [cells[0], cells[1], ...Array(headers.length - 3).fill(''), cells[2]],
      ),
    );
  console.log();
  console.log(JSON.stringify({ bench: 'herald', ...r, ratios: q }));
}
