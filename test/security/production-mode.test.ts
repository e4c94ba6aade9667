import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'pg';
import twilio from 'twilio';
import { SandboxHub, TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import { freePort } from '../../libs/dev-services/src/free-port';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Client } from '../helpers/http';
import {
  ensureBuilt,
  killStarted,
  processEnv,
  startProcess,
  type LogLine,
  type RunningProcess,
} from '../helpers/processes';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// NODE_ENV=production through the built entry points (node dist/apps/…/main.js), development beside
// it, and the Twilio callbacks' credentials (issue 17, defect 8).

const ROOT_KEY = 'production-root-key-0123456789abcdef-0123';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
/** What the public repository's Twilio sandbox signed with before its token was derived per deployment. */
const REPOSITORY_SANDBOX_TOKEN = 'sandboxauthtoken' + '0'.repeat(16);
const STOP = { From: '+15557654321', To: TWILIO_SANDBOX_FROM, Body: 'STOP', AccountSid: `AC${'0'.repeat(32)}` };

const heraldRunning = (line: LogLine) => String(line.msg).startsWith('[herald] Herald is running on');
// The last line `npm start` prints once running (after the keys, in development): the lines before it
// may reach the test in later chunks than the "running" line, so a test reading them waits for this one.
const heraldSaidAll = (line: LogLine) => /^\[herald\] (keys are also in|tenants and their keys)/.test(String(line.msg));
const workerRunning = (line: LogLine) => String(line.msg).startsWith('worker running roles');
const apiListening = (line: LogLine) => String(line.msg).startsWith('api listening');
const everything = (p: RunningProcess) => `${p.logs.map((l) => JSON.stringify(l)).join('\n')}\n${p.stderr()}`;
/** The start-up report of a channel without provider (apps/worker/src/channels/unconfigured-provider.ts). */
const unconfigured = (p: RunningProcess, channel: string) =>
  p.logs.filter((l) => String(l.msg).startsWith(`${channel}: no ${channel} provider is configured: set `));

/** POSTs a Twilio callback to `baseUrl`, signed as Twilio signs it (for Herald's public URL) with `authToken`. */
function twilioCallback(
  baseUrl: string,
  publicUrl: string,
  route: string,
  params: Record<string, string>,
  token: string,
) {
  const signature = twilio.getExpectedTwilioSignature(token, `${publicUrl}/v1/feedback/twilio/${route}`, params);
  return client(baseUrl)('POST', `/v1/feedback/twilio/${route}`, new URLSearchParams(params).toString(), {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': signature,
  });
}

describe('NODE_ENV=production, through the built entry points', () => {
  let isolated: IsolatedEnv;
  let dataDir: string;
  let pool: Pool;

  beforeAll(async () => {
    const build = await ensureBuilt();
    console.log(
      `entry points: ${build.built ? `built in ${build.seconds.toFixed(1)} s (${build.reason})` : build.reason}`,
    );
    isolated = await isolatedEnv('production');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-production-'));
    pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 2 });
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await pool?.end();
    await isolated?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const env = (overrides: Record<string, string> = {}) =>
    processEnv({
      ...isolated.env,
      NODE_ENV: 'production',
      HERALD_ROOT_KEY: ROOT_KEY,
      HERALD_DATA_DIR: dataDir,
      METRICS_TOKEN,
      ...overrides,
    });

  async function oneLineExit(child: RunningProcess): Promise<string> {
    const { code } = await child.exited;
    expect(code).toBe(1);
    const lines = child.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0];
  }

  it('a root key of 31 characters is refused at start with one line (npm start, api and worker)', async () => {
    for (const app of ['herald', 'api', 'worker'] as const) {
      const child = startProcess(app, [], env({ HERALD_ROOT_KEY: 'r'.repeat(31) }));
      expect([app, await oneLineExit(child)]).toEqual([
        app,
        'Configuration error: HERALD_ROOT_KEY is invalid: expects a secret of at least 32 characters in production',
      ]);
    }
  });

  it('npm start without HERALD_ROOT_KEY: one line and exit 1; no root key is made up', async () => {
    const child = startProcess('herald', [], env({ HERALD_ROOT_KEY: '' }));
    // (before the fix it made one up and started: fail then rather than at the test's timeout)
    const started = await child.waitForLog(heraldRunning, 45_000).then(
      () => 'started',
      () => 'did not start',
    );
    await child.stop();
    expect(started).toBe('did not start');
    expect(await oneLineExit(child)).toMatch(
      /^Configuration error: HERALD_ROOT_KEY is missing: production .* at least 32 characters/,
    );
    expect(existsSync(path.join(dataDir, 'root-key'))).toBe(false);
  });

  describe("npm start's entry (dist/apps/herald)", () => {
    let herald: RunningProcess;
    let base: string;
    let root: Client;

    beforeAll(async () => {
      const port = await freePort();
      herald = startProcess('herald', [], env({ PORT: String(port) }));
      await herald.waitForLog(heraldSaidAll, 60_000);
      base = `http://127.0.0.1:${port}`;
      root = client(base, ROOT_KEY);
    }, 90_000);
    afterAll(async () => {
      expect((await herald?.stop())?.code).toBe(0);
    });

    it('prints no key and seeds no tenant', async () => {
      const output = everything(herald);
      expect(output).not.toMatch(/hk_|admin key|ingest key/);
      expect(output).not.toContain(ROOT_KEY);
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants');
      expect(rows[0].n).toBe(0);
      expect(existsSync(path.join(dataDir, 'dev-tenant.json'))).toBe(false);
      expect(existsSync(path.join(dataDir, 'root-key'))).toBe(false);
      expect(herald.logs.find(heraldRunning)?.msg).toContain('(production;');
    });

    it('/sandbox and /sandbox/records answer 404', async () => {
      const anyone = client(base);
      expect((await anyone('GET', '/sandbox')).status).toBe(404);
      expect((await anyone('GET', '/sandbox/records')).status).toBe(404);
    });

    it('defect 8: the Twilio callbacks answer 404 (no Twilio, no sandbox), even signed with the repository token; nothing starts', async () => {
      const publicUrl = `http://localhost:${new URL(base).port}`;
      for (const route of ['inbound', 'status']) {
        const forged = await twilioCallback(base, publicUrl, route, STOP, REPOSITORY_SANDBOX_TOKEN);
        expect([route, forged.status]).toEqual([route, 404]);
      }
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM suppressions');
      expect(rows[0].n).toBe(0);
      expect((await client(base)('GET', '/sandbox')).status).toBe(404);
    });

    it('/metrics needs METRICS_TOKEN as a Bearer token; the health routes stay open', async () => {
      const anyone = client(base);
      expect((await anyone('GET', '/metrics')).status).toBe(401);
      expect((await anyone('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}x` })).status).toBe(
        401,
      );
      expect((await root('GET', '/metrics')).status).toBe(401);
      const scrape = await anyone('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(scrape.status).toBe(200);
      expect(scrape.body).toContain('herald_events_accepted_total');
      expect((await anyone('GET', '/health/live')).status).toBe(200);
      expect((await anyone('GET', '/health/ready')).status).toBe(200);
    });

    it('a channel without provider is reported at start, and its deliveries fail once, naming the setting', async () => {
      expect(unconfigured(herald, 'email')).toHaveLength(1);
      expect(unconfigured(herald, 'email')[0].msg).toContain('SMTP_URL');
      expect(unconfigured(herald, 'sms')).toHaveLength(1);
      expect(unconfigured(herald, 'push')).toHaveLength(1);

      const tenant = (await root('POST', '/v1/tenants', { name: 'production' })).body;
      const admin = client(base, tenant.keys.admin);
      const rule = { channels: [{ channel: 'email', template: { subject: 'Hello', text: 'Hi' } }] };
      expect((await admin('PUT', '/v1/rules/mail', rule)).status).toBe(200);
      const event = await admin('POST', '/v1/events', {
        type: 'mail',
        to: { subscriberId: 'p1', email: 'p1@example.com' },
      });
      expect(event.status).toBe(202);
      const { deliveries } = await waitForDeliveries(admin, event.body.id, 'failed', 30_000);
      const delivery = (await admin('GET', `/v1/deliveries/${deliveries[0].id}`)).body;
      expect(delivery).toMatchObject({ status: 'failed', lastError: expect.stringContaining('SMTP_URL') });
      expect(delivery.attempts).toEqual([
        expect.objectContaining({ outcome: 'permanent', provider: 'unconfigured', code: 'provider-not-configured' }),
      ]);
      expect(delivery.lastError).toContain('HERALD_SANDBOX=on');
    });

    it('a webhook endpoint on 127.0.0.1 is refused (WEBHOOK_ALLOW_PRIVATE_NETWORKS is not set)', async () => {
      const tenant = (await root('POST', '/v1/tenants', { name: 'hooks' })).body;
      const admin = client(base, tenant.keys.admin);
      const answer = await admin('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook' });
      expect(answer.status).toBe(422);
      expect(answer.body.type).toBe('/problems/webhook-url-refused');
    });

    it('the queue dashboard stays behind the root key', async () => {
      expect((await client(base)('GET', '/admin/queues')).status).toBe(401);
      expect((await client(base, METRICS_TOKEN)('GET', '/admin/queues')).status).toBe(401);
      expect((await root('GET', '/admin/queues')).status).toBe(200);
    });
  });

  it('split processes: a worker reports its channel without provider; /metrics on the worker port and the api needs the token', async () => {
    const port = await freePort();
    const worker = startProcess('worker', ['--roles', 'email'], env({ WORKER_HEALTH_PORT: String(port) }));
    const api = startProcess('api', [], env());
    await worker.waitForLog(workerRunning, 30_000);
    const { port: apiPort } = (await api.waitForLog(apiListening, 30_000)) as { port: number };
    expect(unconfigured(worker, 'email')).toHaveLength(1);
    expect(unconfigured(worker, 'sms')).toHaveLength(0);

    for (const base of [`http://127.0.0.1:${port}`, `http://127.0.0.1:${apiPort}`]) {
      const anyone = client(base);
      expect([base, (await anyone('GET', '/metrics')).status]).toEqual([base, 401]);
      expect((await anyone('GET', '/metrics', undefined, { authorization: 'Bearer nope' })).status).toBe(401);
      const scrape = await anyone('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
      expect(scrape.status).toBe(200);
      expect(scrape.body).toContain('herald_');
      expect((await anyone('GET', '/health/live')).status).toBe(200);
    }
    expect((await client(`http://127.0.0.1:${apiPort}`)('GET', '/sandbox/records')).status).toBe(404);
    expect((await worker.stop()).code).toBe(0);
    expect((await api.stop()).code).toBe(0);
  });
});

describe('development: npm start with nothing set works as before', () => {
  let isolated: IsolatedEnv;
  let dataDir: string;
  let herald: RunningProcess;
  let base: string;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('development');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'herald-development-'));
    const port = await freePort();
    // No NODE_ENV (jest sets "test"), no root key: npm start makes one up.
    herald = startProcess(
      'herald',
      [],
      processEnv({ ...isolated.env, NODE_ENV: '', HERALD_ROOT_KEY: '', HERALD_DATA_DIR: dataDir, PORT: String(port) }),
    );
    await herald.waitForLog(heraldSaidAll, 60_000);
    base = `http://127.0.0.1:${port}`;
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await isolated?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('invents a root key, seeds the dev tenant and prints its keys; the sandboxes, /sandbox and loopback webhooks work', async () => {
    const saved = JSON.parse(await readFile(path.join(dataDir, 'dev-tenant.json'), 'utf8'));
    expect(existsSync(path.join(dataDir, 'root-key'))).toBe(true);
    const said = herald.logs.map((l) => String(l.msg));
    expect(said).toContain(`[herald]   admin key:  ${saved.keys.admin}`);
    expect(said.some((l) => l.startsWith('[herald] sandbox webhook receiver: http://127.0.0.1:'))).toBe(true);
    expect(unconfigured(herald, 'email')).toHaveLength(0);

    const admin = client(base, saved.keys.admin);
    expect((await admin('POST', '/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook' })).status).toBe(201);
    const rule = { channels: [{ channel: 'email', template: { subject: 'Hello', text: 'Hi' } }] };
    expect((await admin('PUT', '/v1/rules/mail', rule)).status).toBe(200);
    const event = await admin('POST', '/v1/events', {
      type: 'mail',
      to: { subscriberId: 'd1', email: 'd1@example.com' },
    });
    await waitForDeliveries(admin, event.body.id, 'sent', 30_000);
    const records = await client(base)('GET', '/sandbox/records');
    expect(records.status).toBe(200);
    expect(records.body.items).toContainEqual(expect.objectContaining({ channel: 'email', to: 'd1@example.com' }));
    expect((await client(base)('GET', '/metrics')).status).toBe(200);
  });
});

describe('defect 8: Twilio callbacks are signed with a token of this deployment, and start no sandbox', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let hub: SandboxHub;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('twilio_sandbox');
    // The api alone (sandboxes on, as in development): nothing has started a sandbox in this process.
    herald = await startHerald({ roles: [], env: isolated.env });
    hub = herald.app.get(SandboxHub);
    tenant = await createTenant(herald.url);
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  const post = (route: string, params: Record<string, string>, token: string) =>
    twilioCallback(herald.url, herald.config.publicUrl, route, params, token);
  const optOuts = async (number: string) =>
    (await tenant.admin('GET', `/v1/suppressions?channel=sms&address=${encodeURIComponent(number)}`)).body.items;

  it("a STOP signed with the repository's sandbox token is refused, changes nothing and starts no sandbox", async () => {
    expect(hub.channels).toEqual([]);
    expect((await post('inbound', STOP, REPOSITORY_SANDBOX_TOKEN)).status).toBe(401);
    expect(
      (await post('status', { MessageSid: 'SMx', MessageStatus: 'delivered' }, REPOSITORY_SANDBOX_TOKEN)).status,
    ).toBe(401);
    expect(await optOuts(STOP.From)).toEqual([]);
    expect(hub.channels).toEqual([]);
    expect((await client(herald.url)('GET', '/sandbox')).status).toBe(404);
  });

  it("a STOP signed with this deployment's sandbox token (derived from the root key) is accepted, still starting nothing", async () => {
    expect(hub.twilioAuthToken).not.toBe(REPOSITORY_SANDBOX_TOKEN);
    expect(hub.twilioAuthToken).toMatch(/^[0-9a-f]{64}$/);
    const from = '+15557654322';
    expect((await post('inbound', { ...STOP, From: from }, hub.twilioAuthToken)).status).toBe(200);
    expect(await optOuts(from)).toEqual([expect.objectContaining({ reason: 'opt_out', source: 'twilio' })]);
    expect(hub.channels).toEqual([]);
    // The sandbox itself signs with the same token, in any process with the same root key.
    expect((await hub.twilio()).authToken).toBe(hub.twilioAuthToken);
  });

  it('with the sandboxes off and no Twilio account, the Twilio routes are 404 whatever the signature', async () => {
    const off = await startHerald({ roles: [], env: { ...isolated.env, HERALD_SANDBOX: 'off' } });
    try {
      const offHub = off.app.get(SandboxHub);
      for (const token of [REPOSITORY_SANDBOX_TOKEN, offHub.twilioAuthToken]) {
        for (const route of ['inbound', 'status']) {
          const answer = await twilioCallback(off.url, off.config.publicUrl, route, STOP, token);
          expect([route, answer.status]).toEqual([route, 404]);
        }
      }
      await expect(offHub.twilio()).rejects.toThrow(/HERALD_SANDBOX is not on/);
      expect(offHub.channels).toEqual([]);
      expect((await client(off.url)('GET', '/sandbox')).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
