import { Queue } from 'bullmq';
import { freePort } from '../libs/services/src/free-port';
import { ENTRY, startNode, type NodeProcess } from './processes';

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
 * The environment of Herald's processes. LOG_LEVEL=warn: at `info` pino writes a line per request
 * and per job, which measures the log pipe more than Herald. The per-key API rate limit is off, as
 * one key sends everything here.
 */
function processEnv(env: HeraldEnv, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'production',
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

export interface Api {
  proc: NodeProcess;
  url: string;
}

/** `node dist/apps/api/src/main.js` on a free port, once /health/ready answers 200. */
export async function startApi(env: HeraldEnv): Promise<Api> {
  const port = await freePort();
  const proc = startNode(ENTRY.api, [], processEnv(env, { PORT: String(port) }), env.nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<never>((_, reject) =>
    proc.firstLine().then(
      () => undefined,
      (err: Error) => reject(err),
    ),
  );
  exited.catch(() => undefined);
  await Promise.race([until(async () => (await fetch(`${url}/health/ready`)).ok, 60_000, 'api ready'), exited]);
  return { proc, url };
}

export const WORKER_ROLES = 'relay,fanout,inapp,webhook';

/** `count` × `node dist/apps/worker/src/main.js --roles …`, once each has its workers on the in-app queue. */
export async function startWorkers(env: HeraldEnv, count: number): Promise<NodeProcess[]> {
  const queue = new Queue('deliver.inapp', { connection: { url: env.redisUrl }, prefix: `{${env.queuePrefix}}` });
  try {
    const before = (await queue.getWorkers()).length;
    const procs = Array.from({ length: count }, () =>
      startNode(ENTRY.worker, ['--roles', WORKER_ROLES], processEnv(env), env.nodeArgs),
    );
    await until(async () => (await queue.getWorkers()).length >= before + count, 60_000, 'workers ready');
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

async function call(url: string, key: string, method: string, path: string, body?: unknown) {
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

/** POST /v1/events/batch; fails unless every event was accepted. */
export async function sendBatch(apiUrl: string, tenant: Tenant, events: object[]): Promise<void> {
  const answer = (await call(apiUrl, tenant.ingestKey, 'POST', '/v1/events/batch', { events })) as {
    results: { status: number }[];
  };
  const refused = answer.results.filter((r) => r.status !== 202);
  if (refused.length) throw new Error(`batch: ${refused.length} events refused: ${JSON.stringify(refused[0])}`);
}

/** POST /v1/events; fails unless accepted. */
export async function sendEvent(apiUrl: string, tenant: Tenant, event: object): Promise<void> {
  await call(apiUrl, tenant.ingestKey, 'POST', '/v1/events', event);
}
