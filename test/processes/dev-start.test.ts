import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isolatedEnv, type IsolatedEnv } from '../helpers/herald';
import { client } from '../helpers/http';
import { ensureBuilt, killStarted, startDevHerald, type LogLine } from '../helpers/processes';
import { waitForDeliveries } from '../helpers/tenant';

// npm start's entry (node dist/apps/herald/src/main.js) in development, stopped and started again on
// one data folder, as a developer does: what it printed the first time must still work the second.

const saidAll = (line: LogLine) => /^\[herald\] keys are also in/.test(String(line.msg));
const NEST_BOOTSTRAP = ['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication'];
const RECEIVER = /^\[herald\] sandbox webhook receiver: (http:\/\/127\.0\.0\.1:\d+)\/hooks\/demo /;

describe('npm start, restarted on the same data folder', () => {
  let isolated: IsolatedEnv;
  let dataDir: string;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('dev-start');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-dev-start-'));
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await isolated?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  async function start() {
    const { herald, base } = await startDevHerald(isolated.env, dataDir);
    const receiver = herald.logs.map((l) => RECEIVER.exec(String(l.msg))?.[1]).find(Boolean);
    return { herald, base, receiver: receiver! };
  }

  it('prints quietly, the banner last; after a restart the receiver URL still works and /sandbox still shows what was sent', async () => {
    const first = await start();
    expect(first.receiver).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // Quiet, with the banner last: none of Nest's ~260 start-up lines (module, route, mapping), and every
    // line logged while starting (the sandboxes' notes) is out before the banner, not among its lines.
    const said = first.herald.logs.map((l) => ({ msg: String(l.msg), context: l.context }));
    expect(said.filter((l) => NEST_BOOTSTRAP.includes(String(l.context)))).toEqual([]);
    const bannerStart = said.findIndex((l) => l.msg.startsWith('[herald] Herald is running on'));
    const bannerEnd = said.findIndex((l) => saidAll({ msg: l.msg } as LogLine));
    expect(said.slice(bannerStart, bannerEnd + 1).filter((l) => !l.msg.startsWith('[herald] '))).toEqual([]);
    expect(said.slice(0, bannerStart).filter((l) => l.context === 'sandbox')).toHaveLength(4);
    const keys = JSON.parse(await readFile(path.join(dataDir, 'dev-tenant.json'), 'utf8')).keys;
    const admin = client(first.base, keys.admin);
    const endpoint = await admin('POST', '/v1/webhook-endpoints', {
      url: `${first.receiver}/hooks/kept`,
      eventTypes: ['dev.kept'],
    });
    expect(endpoint.status).toBe(201);
    const before = await admin('POST', '/v1/events', { type: 'dev.kept', to: { subscriberId: 'dev-0' }, data: {} });
    await waitForDeliveries(admin, before.body.id, 'sent', 30_000);
    expect((await first.herald.stop('SIGTERM')).code).toBe(0);
    // npm start runs the worker process's own sequence (boot check, job count, drain): its last line counts
    // the jobs each queue finished.
    const STOPPED = '[herald] stopped; jobs finished: ';
    const stopped = first.herald.logs.map((l) => String(l.msg)).find((msg) => msg.startsWith(STOPPED));
    const jobs = JSON.parse(stopped?.slice(STOPPED.length) ?? '{}') as Record<string, { completed: number }>;
    expect(jobs.fanout?.completed).toBeGreaterThanOrEqual(1);
    expect(jobs['deliver.webhook']?.completed).toBeGreaterThanOrEqual(1);

    const second = await start();
    expect(second.receiver).toBe(first.receiver);
    const again = client(second.base, keys.admin);
    const event = await again('POST', '/v1/events', { type: 'dev.kept', to: { subscriberId: 'dev-1' }, data: {} });
    expect(event.status).toBe(202);
    const sent = await waitForDeliveries(again, event.body.id, 'sent', 30_000);
    expect(sent.deliveries).toEqual([
      expect.objectContaining({ endpointId: endpoint.body.id, attempts: [expect.objectContaining({ outcome: 'ok' })] }),
    ]);
    // /sandbox still shows what was sent before the restart, newest first.
    const records = (await client(second.base)('GET', '/sandbox/records')).body.items as {
      channel: string;
      detail: { body?: string };
    }[];
    const hooks = records.filter((r) => r.channel === 'webhook').map((r) => JSON.stringify(r.detail));
    expect(hooks).toHaveLength(2);
    expect([hooks[0]!.includes(event.body.id), hooks[1]!.includes(before.body.id)]).toEqual([true, true]);
  });
});
