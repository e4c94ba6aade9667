import 'reflect-metadata';
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { ConfigError, PRODUCTION_ROOT_KEY_LENGTH, WORKER_ROLES, isProduction, loadConfig } from '@herald/config';
import { flushLogs, stopOnSignals } from '@herald/observability';
import { TenantsRepository, migrate } from '@herald/db';
import { SandboxHub } from '@herald/sandbox';
import { ensureServices } from '@herald/dev-services';
import { ApiKeysService, closeHttpApp, createHttpApp } from '../../api/src';
import { RunningWorkers } from '../../worker/src';
import { ensureDevTenant } from './dev-tenant';
import { keepReceiverPort, keptReceiverPort } from './receiver-port';
import { HeraldModule } from './herald.module';

const DATA_DIR = resolve(process.env.HERALD_DATA_DIR ?? '.herald');
// Stand-ins for the URLs of the local Redis and Postgres while the settings are checked, before they start.
const NOT_STARTED_YET = { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgresql://127.0.0.1/herald' };

/**
 * `npm start`: Herald all-in-one. Starts local Redis/Postgres when REDIS_URL/DATABASE_URL are
 * not set, applies migrations, then runs the api and every worker role. In development it also
 * makes up a root key, seeds a dev tenant and prints its keys; in production (NODE_ENV=production)
 * it does none of that: the root key must be given, and no key is printed.
 */
async function main(): Promise<void> {
  const say = (line: string) => console.log(`[herald] ${line}`);
  if (isProduction(process.env) && !process.env.HERALD_ROOT_KEY) {
    throw new ConfigError(
      `Configuration error: HERALD_ROOT_KEY is missing: production (NODE_ENV=production) needs a secret of at least ${PRODUCTION_ROOT_KEY_LENGTH} characters; npm start makes one up only in development`,
    );
  }
  mkdirSync(DATA_DIR, { recursive: true });
  const settings: Record<string, string | undefined> = {
    ...process.env,
    HERALD_ROOT_KEY: process.env.HERALD_ROOT_KEY || devRootKey(),
    WORKER_ROLES: process.env.WORKER_ROLES || WORKER_ROLES.join(','),
  };
  // In development the generic email feedback route works out of the box (and /sandbox's bounce and
  // complaint buttons with it): a secret made up once and kept, as the root key is.
  const devFeedbackSecret = !isProduction(process.env) && !process.env.FEEDBACK_WEBHOOK_SECRET;
  if (devFeedbackSecret) settings.FEEDBACK_WEBHOOK_SECRET = keptSecret('feedback-webhook-secret', 'whsec_');
  // Checked before anything starts, so a bad setting leaves nothing running.
  const checked = loadConfig({ ...NOT_STARTED_YET, ...given(settings) });
  // The sandbox webhook receiver listens on loopback, which the SSRF guard refuses by default: in
  // development with the sandboxes on, npm start allows private networks unless told otherwise.
  if (checked.sandbox && !checked.production) settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS ||= 'true';

  const services = await ensureServices({
    dataDir: DATA_DIR,
    redisUrl: process.env.REDIS_URL || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    log: say,
  });
  const config = loadConfig({ ...settings, REDIS_URL: services.redisUrl, DATABASE_URL: services.databaseUrl });
  const applied = await migrate(config.databaseUrl);
  if (applied.length) say(`applied migrations: ${applied.join(', ')}`);

  const app = await createHttpApp(
    HeraldModule.forRoot(config, { api: true, roles: config.workerRoles, prettyLogs: process.stdout.isTTY }),
  );
  const tenant = config.production
    ? undefined
    : await ensureDevTenant(DATA_DIR, app.get(TenantsRepository), app.get(ApiKeysService));
  // What /sandbox shows outlives a restart (the newest 1,000 messages, in the data folder).
  if (config.sandbox) app.get(SandboxHub).recorder.keepIn(join(DATA_DIR, 'sandbox-records.jsonl'));
  const keptPort = keptReceiverPort(DATA_DIR);
  const receiver =
    config.sandbox && config.providers.webhook.allowPrivateNetworks
      ? await app.get(SandboxHub).webhookReceiver(keptPort)
      : undefined;
  const receiverPort = receiver ? Number(new URL(receiver.url).port) : undefined;
  if (receiverPort) keepReceiverPort(DATA_DIR, receiverPort);
  await app.listen(config.port, config.host);
  // Stopping: the workers drain first (their jobs need the pools and clients app.close() ends),
  // then the api closes; one grace period covers both. See drainWorkers and closeHttpApp.
  const logger = new Logger('herald');
  // The worker process's own boot check and job count, on the roles running here.
  const workers = await RunningWorkers.of(app, config.workerRoles, logger);
  stopOnSignals(logger, config.shutdownGraceMs, async (signal) => {
    say(`${signal}: draining and stopping (up to ${config.shutdownGraceMs} ms)`);
    const deadline = Date.now() + config.shutdownGraceMs;
    const { drained, unfinished } = await workers.drain(config.shutdownGraceMs);
    if (!drained) say(`jobs still running on ${unfinished.join(', ')} were left to BullMQ's stall detection`);
    await closeHttpApp(app, Math.max(0, deadline - Date.now()));
    await services.stop();
    say(`stopped; jobs finished: ${JSON.stringify(workers.jobs())}`);
  });

  // The banner comes last: what the logger still holds (Nest's buffered start-up lines, the sandboxes'
  // notes) is written out first, so the keys and URLs are not buried under it.
  if (config.sandbox) await app.get(SandboxHub).started();
  flushLogs(PinoLogger.root);
  const mode = config.production ? 'production' : 'development';
  say(`Herald is running on ${config.publicUrl} (${mode}; api + roles: ${config.workerRoles.join(', ')})`);
  if (tenant) {
    say(`dev tenant ${tenant.id}`);
    say(`  admin key:  ${tenant.keys.admin}`);
    say(`  ingest key: ${tenant.keys.ingest}`);
  }
  if (devFeedbackSecret) say(`email feedback secret (FEEDBACK_WEBHOOK_SECRET): ${config.feedback.genericSecret}`);
  if (receiver) {
    say(`sandbox webhook receiver: ${receiver.urlFor('/hooks/demo')} (any path; see ${config.publicUrl}/sandbox)`);
    if (keptPort && receiverPort !== keptPort) {
      say(`  (port ${keptPort} was taken: endpoints registered with the old receiver URL need the new one)`);
    }
  }
  if (tenant) say(`AI assistants (MCP): ${config.publicUrl}/mcp with a key as the Bearer token (docs/mcp.md)`);
  if (tenant) say(`keys are also in ${join(DATA_DIR, 'dev-tenant.json')}; the walk-through is in README.md`);
  else say('tenants and their keys: POST /v1/tenants with the root key (nothing is seeded in production)');
}

/** The settings that are set: loadConfig reads a blank one as unset, and so must the stand-ins. */
function given(settings: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).filter((entry): entry is [string, string] => !!entry[1]));
}

/** A root key kept in the data folder, so a newcomer need not invent one. */
function devRootKey(): string {
  return keptSecret('root-key', '');
}

/** A secret made up on the first start and kept in the data folder (mode 0600) for the next ones. */
function keptSecret(name: string, prefix: string): string {
  const file = join(DATA_DIR, name);
  if (!existsSync(file)) {
    // whsec_ secrets are base64 (what FEEDBACK_WEBHOOK_SECRET's check expects); the root key is base64url.
    const made = randomBytes(32).toString(prefix ? 'base64' : 'base64url');
    writeFileSync(file, `${prefix}${made}`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
