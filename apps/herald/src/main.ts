import 'reflect-metadata';
import 'dotenv/config';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, WORKER_ROLES, loadConfig } from '@herald/config';
import { PrismaService, migrate } from '@herald/db';
import { SandboxHub } from '@herald/sandbox';
import { ensureServices } from '@herald/services';
import { ApiKeysService } from '../../api/src/auth/api-keys.service';
import { createHttpApp } from '../../api/src/http/create-http-app';
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
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, async () => {
      say(`${signal}: draining and stopping`);
      await app.close();
      await services.stop();
      process.exit(0);
    });
  }

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
