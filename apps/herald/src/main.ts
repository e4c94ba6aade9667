import 'reflect-metadata';
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigError, WORKER_ROLES, loadConfig, stopOnSignals } from '@herald/config';
import { PrismaService, migrate } from '@herald/db';
import { SandboxHub } from '@herald/sandbox';
import { ensureServices } from '@herald/services';
import { ApiKeysService } from '../../api/src/auth/api-keys.service';
import { closeHttpApp } from '../../api/src/http/close-http-app';
import { createHttpApp } from '../../api/src/http/create-http-app';
import { bullWorkers, drainWorkers, logWorkerErrors } from '../../worker/src/worker-process';
import { ensureDevTenant } from './dev-tenant';
import { HeraldModule } from './herald.module';

const DATA_DIR = resolve(process.env.HERALD_DATA_DIR ?? '.herald');

/**
 * `npm start`: Herald all-in-one. Starts local Redis/Postgres when REDIS_URL/DATABASE_URL are
 * not set, applies migrations, seeds a dev tenant, then runs the api and every worker role.
 */
async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  const say = (line: string) => console.log(`[herald] ${line}`);
  const services = await ensureServices({
    dataDir: DATA_DIR,
    redisUrl: process.env.REDIS_URL || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    log: say,
  });
  const config = loadConfig({
    ...process.env,
    REDIS_URL: services.redisUrl,
    DATABASE_URL: services.databaseUrl,
    HERALD_ROOT_KEY: process.env.HERALD_ROOT_KEY || devRootKey(),
    WORKER_ROLES: process.env.WORKER_ROLES || WORKER_ROLES.join(','),
    // The sandbox webhook receiver listens on loopback, which the SSRF guard refuses by default.
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS || 'true',
  });
  const applied = await migrate(config.databaseUrl);
  if (applied.length) say(`applied migrations: ${applied.join(', ')}`);

  const app = await createHttpApp(
    HeraldModule.forRoot(config, { api: true, roles: config.workerRoles, prettyLogs: process.stdout.isTTY }),
  );
  const tenant = await ensureDevTenant(DATA_DIR, app.get(PrismaService), app.get(ApiKeysService));
  const receiver = await app.get(SandboxHub).webhookReceiver();
  await app.listen(config.port, config.host);
  // Stopping: the workers drain first (their jobs need the pools and clients app.close() ends),
  // then the api closes; one grace period covers both. See drainWorkers and closeHttpApp.
  const workers = bullWorkers(app);
  logWorkerErrors(workers);
  stopOnSignals(new Logger('herald'), config.shutdownGraceMs, async (signal) => {
    say(`${signal}: draining and stopping (up to ${config.shutdownGraceMs} ms)`);
    const deadline = Date.now() + config.shutdownGraceMs;
    const { drained, unfinished } = await drainWorkers(workers, config.shutdownGraceMs);
    if (!drained) say(`jobs still running on ${unfinished.join(', ')} were left to BullMQ's stall detection`);
    await closeHttpApp(app, Math.max(0, deadline - Date.now()));
    await services.stop();
  });

  say(`Herald is running on ${config.publicUrl} (api + roles: ${config.workerRoles.join(', ')})`);
  say(`dev tenant ${tenant.id}`);
  say(`  admin key:  ${tenant.keys.admin}`);
  say(`  ingest key: ${tenant.keys.ingest}`);
  say(`sandbox webhook receiver: ${receiver.urlFor('/hooks/demo')} (any path; see ${config.publicUrl}/sandbox)`);
  say(`keys are also in ${join(DATA_DIR, 'dev-tenant.json')}; the walk-through is in README.md`);
}

/** A root key kept in the data folder, so a newcomer need not invent one. */
function devRootKey(): string {
  const file = join(DATA_DIR, 'root-key');
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
