import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, WORKER_ROLES, type HeraldConfig, type WorkerRole } from '@herald/config';
import { createHttpApp } from '../../apps/api/src/http/create-http-app';
import { HeraldModule } from '../../apps/herald/src/herald.module';
import { createTestDatabase } from './databases';

export const TEST_ROOT_KEY = 'test-root-key-0123456789abcdef';

export interface RunningHerald {
  app: NestFastifyApplication;
  url: string;
  config: HeraldConfig;
  close(): Promise<void>;
}

/** The test run's settings (global-setup put DATABASE_URL, REDIS_URL and the queue prefix in the env). */
export function testConfig(overrides: Record<string, string> = {}): HeraldConfig {
  return loadConfig({
    ...process.env,
    HERALD_ROOT_KEY: TEST_ROOT_KEY,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    RELAY_POLL_MS: '200',
    DATABASE_POOL_SIZE: '10',
    // Suites fire bursts from one key; the limit has its own test.
    API_RATE_LIMIT_PER_SECOND: '0',
    // Worker-only instances run side by side: no health port unless a test asks for one.
    WORKER_HEALTH_PORT: '0',
    ...overrides,
  });
}

/** Herald in this process, as `npm start` runs it (api + worker roles), listening on a free port. */
export async function startHerald(
  opts: { api?: boolean; roles?: readonly WorkerRole[]; env?: Record<string, string> } = {},
): Promise<RunningHerald> {
  const config = testConfig(opts.env);
  const app = await createHttpApp(
    HeraldModule.forRoot(config, { api: opts.api ?? true, roles: opts.roles ?? WORKER_ROLES }),
  );
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, config, close: () => app.close() };
}

export interface IsolatedEnv {
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A database and a queue prefix of the test file's own: jest runs files in parallel, and relays
 * drain every outbox row of their database, so files must not share one. The prefix is random: a jest
 * worker runs file after file with a fresh module registry, so a counter here would start again at 1
 * and hand the next file the queues (and leftover delayed jobs) of the one before.
 */
export async function isolatedEnv(label: string): Promise<IsolatedEnv> {
  const db = await createTestDatabase(label, { migrate: true });
  const prefix = `${process.env.HERALD_QUEUE_PREFIX}-${process.pid}-${randomBytes(4).toString('hex')}`;
  return { env: { DATABASE_URL: db.url, HERALD_QUEUE_PREFIX: prefix }, drop: () => db.drop() };
}
