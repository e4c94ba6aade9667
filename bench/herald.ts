import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { freePort } from '../libs/dev-services/src/free-port';
import { startNode, type NodeProcess } from './processes';
import type { Target } from './targets';

export const ROOT_KEY = 'bench-root-key-0123456789abcdef0123';

export interface HeraldEnv {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  /** node flags of Herald's processes, e.g. --cpu-prof */
  nodeArgs: string[];
  /** more settings for Herald's processes (`--set KEY=VALUE`), e.g. CONCURRENCY_FANOUT */
  settings?: Record<string, string>;
}

/**
 * The environment of Herald's processes: production mode, as deployed (HERALD_SANDBOX=on as docs/production.md says
 * says for the bench; its channels are in-app and webhook, to the bench's own receiver on loopback).
 * LOG_LEVEL=warn: at `info` pino writes a line per request and per job, which measures the log pipe more
 * than Herald. The per-key API rate limit is off, as one key sends everything here.
 */
function processEnv(env: HeraldEnv, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
    HERALD_SANDBOX: 'on',
    HERALD_ROOT_KEY: ROOT_KEY,
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    HERALD_QUEUE_PREFIX: env.queuePrefix,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    API_RATE_LIMIT_PER_SECOND: '0',
    WORKER_HEALTH_PORT: '0',
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    ...env.settings,
    ...extra,
  };
}

/** Applies the target's own migrations (its schema, whatever the current one is) to `databaseUrl`. */
export function migrateFor(target: Target, databaseUrl: string): void {
  const result = spawnSync(process.execPath, [target.entries.migrate], {
    cwd: target.root,
    env: { PATH: process.env.PATH ?? '', DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`migrating for ${target.label} failed: ${result.stdout}${result.stderr}`);
}

export interface Api {
  proc: NodeProcess;
  url: string;
}

/** An api entry point (the api alone, or `npm start`'s all-in-one) on a free port, once /health/ready answers. */
async function startHttp(target: Target, env: HeraldEnv, entry: string, extra: Record<string, string>): Promise<Api> {
  const port = await freePort();
  const proc = startNode(entry, [], processEnv(env, { PORT: String(port), ...extra }), env.nodeArgs, 200, target.root);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    proc.firstLine().then(
      () => undefined,
      (err: Error) => reject(err),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([until(async () => (await fetch(`${url}/health/ready`)).ok, 120_000, 'api ready'), exited]);
  return { proc, url };
}

/** `node dist/apps/api/src/main.js`. */
export function startApi(target: Target, env: HeraldEnv): Promise<Api> {
  return startHttp(target, env, target.entries.api, {});
}

/**
 * `npm start`'s entry (`node dist/apps/herald/src/main.js`): the api and every worker role in one process,
 * against the bench's Redis and Postgres (set, so it starts no local services of its own).
 */
export function startAllInOne(target: Target, env: HeraldEnv): Promise<Api> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'herald-bench-data-'));
  return startHttp(target, env, target.entries.herald, { HERALD_DATA_DIR: dataDir });
}

export const WORKER_ROLES = 'relay,fanout,inapp,webhook';

/**
 * `count` × `node dist/apps/worker/src/main.js --roles …`, once each has its workers on the queue of its
 * first channel role (in-app by default).
 */
export async function startWorkers(
  target: Target,
  env: HeraldEnv,
  count: number,
  roles = WORKER_ROLES,
): Promise<NodeProcess[]> {
  const channel = roles.split(',').find((r) => ['inapp', 'webhook', 'email', 'sms', 'push'].includes(r)) ?? 'inapp';
  const queue = new Queue(`deliver.${channel}`, { connection: { url: env.redisUrl }, prefix: `{${env.queuePrefix}}` });
  try {
    const before = (await queue.getWorkers()).length;
    const procs = Array.from({ length: count }, () =>
      startNode(target.entries.worker, ['--roles', roles], processEnv(env), env.nodeArgs, 200, target.root),
    );
    await until(async () => (await queue.getWorkers()).length >= before + count, 120_000, 'workers ready');
    return procs;
  } finally {
    await queue.close();
  }
}

/** Polls `check` every 100 ms until it is true; fails loudly after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface Tenant {
  id: string;
  ingestKey: string;
  adminKey: string;
}

export async function call(url: string, key: string, method: string, path: string, body?: unknown) {
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A tenant whose `order.shipped` rule delivers in-app (and to `webhookUrl`, when given). */
export async function createTenant(apiUrl: string, name: string, webhookUrl?: string): Promise<Tenant> {
  const created = (await call(apiUrl, ROOT_KEY, 'POST', '/v1/tenants', { name })) as {
    id: string;
    keys: { admin: string; ingest: string };
  };
  const tenant = { id: created.id, ingestKey: created.keys.ingest, adminKey: created.keys.admin };
  const channels: object[] = [
    {
      channel: 'inapp',
      template: { title: 'Order {{ data.orderId }} shipped', body: 'Hi {{ subscriber.subscriberId }}' },
    },
  ];
  if (webhookUrl) {
    channels.push({ channel: 'webhook', template: {} });
    await call(apiUrl, tenant.adminKey, 'POST', '/v1/webhook-endpoints', {
      url: webhookUrl,
      eventTypes: ['order.shipped'],
    });
  }
  await call(apiUrl, tenant.adminKey, 'PUT', '/v1/rules/order.shipped', { channels });
  return tenant;
}

/** The tenant's topic `key` with `members` subscribers (`member-0` …), added 1,000 per request. */
export async function createTopic(apiUrl: string, tenant: Tenant, key: string, members: number): Promise<void> {
  for (let i = 0; i < members; i += 1000) {
    const add = Array.from({ length: Math.min(1000, members - i) }, (_, j) => `member-${i + j}`);
    await call(apiUrl, tenant.adminKey, 'PUT', `/v1/topics/${key}/subscribers`, { add });
  }
}

/**
 * POST /v1/events/batch; fails unless every event was accepted, counted item by item (a 207 is the
 * envelope, not a promise that each event went in). Returns how many were accepted.
 */
export async function sendBatch(apiUrl: string, tenant: Tenant, events: object[]): Promise<number> {
  const answer = (await call(apiUrl, tenant.ingestKey, 'POST', '/v1/events/batch', { events })) as {
    results: { status: number }[];
  };
  const refused = answer.results.filter((r) => r.status !== 202);
  if (refused.length) throw new Error(`batch: ${refused.length} events refused: ${JSON.stringify(refused[0])}`);
  return answer.results.length;
}

/** POST /v1/events; fails unless accepted. */
export async function sendEvent(apiUrl: string, tenant: Tenant, event: object): Promise<void> {
  await call(apiUrl, tenant.ingestKey, 'POST', '/v1/events', event);
}
