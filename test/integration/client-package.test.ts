import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';

// @herald/client as a package: built, packed by `npm pack`, installed from the tarball into a fresh project,
// and used there (CommonJS at run time, TypeScript at compile time) against a running Herald.

const CLIENT = path.join(__dirname, '..', '..', 'libs', 'client');
const run = (command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) => {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 180_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}${result.stdout}`.slice(0, 3000),
    );
  }
  return result.stdout;
};

describe('@herald/client, packed and installed in a fresh project', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let dir: string;
  let app: string;

  beforeAll(async () => {
    isolated = await isolatedEnv('client-package');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-client-package-'));
    run('npx', ['tsc', '-p', 'tsconfig.json'], CLIENT);
    run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], CLIENT);
    const tarball = (await readdir(dir)).find((name) => name.endsWith('.tgz'))!;
    app = path.join(dir, 'app');
    await run('mkdir', ['-p', app], dir);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
    // Its dependencies come from the registry (or npm's cache): what a user's install does.
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball)], app);
  }, 240_000);
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends an event and reads it back, from plain JavaScript', async () => {
    await writeFile(
      path.join(app, 'use.js'),
      `const { HeraldClient, HeraldProblemError, verifyWebhook } = require('@herald/client');
const herald = new HeraldClient({ baseUrl: process.env.HERALD_URL, apiKey: process.env.HERALD_KEY });
(async () => {
  const { id, status } = await herald.sendEvent({ type: 'order.shipped', to: { subscriberId: 'pkg' }, data: {} });
  const event = await herald.getEvent(id);
  let problem;
  try { await herald.getEvent('not-an-id'); } catch (err) { problem = err instanceof HeraldProblemError && err.status; }
  console.log(JSON.stringify({ status, type: event.type, problem, verify: typeof verifyWebhook }));
})();`,
    );
    // Not spawnSync: Herald runs in this process and must answer while the script runs.
    const { stdout: out } = await promisify(execFile)('node', ['use.js'], {
      cwd: app,
      env: { ...process.env, HERALD_URL: herald.url, HERALD_KEY: tenant.keys.ingest },
      timeout: 60_000,
    });
    expect(JSON.parse(out)).toEqual({ status: 'accepted', type: 'order.shipped', problem: 404, verify: 'function' });
  });

  it('ships its types: a TypeScript file using it compiles, and a wrong call does not', async () => {
    // A Node project in TypeScript, with Node's types (the client's declarations use Buffer).
    const typeRoots = [path.join(__dirname, '..', '..', 'node_modules', '@types')];
    const compilerOptions = {
      strict: true,
      module: 'node20',
      moduleResolution: 'nodenext',
      target: 'ES2023',
      noEmit: true,
      typeRoots,
      types: ['node'],
    };
    const tsconfig = { compilerOptions, include: ['*.ts'] };
    await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = path.join(__dirname, '..', '..', 'node_modules', '.bin', 'tsc');
    await writeFile(
      path.join(app, 'good.ts'),
      `import { HeraldClient, type EventAccepted } from '@herald/client';
const herald = new HeraldClient({ baseUrl: 'http://localhost:3000', apiKey: 'k' });
export const sent: Promise<EventAccepted> = herald.sendEvent({ type: 't', to: { subscriberId: 'a' } });\n`,
    );
    run(tsc, ['-p', 'tsconfig.json'], app);
    await writeFile(
      path.join(app, 'bad.ts'),
      `import { HeraldClient } from '@herald/client';
new HeraldClient({ baseUrl: 'http://localhost:3000', apiKey: 'k' }).sendEvent({ type: 't', to: { nobody: 1 } });\n`,
    );
    const bad = spawnSync(tsc, ['-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain('bad.ts');
  });
});
