import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import path from 'node:path';
import { freePort } from '../../libs/dev-services/src/free-port';
import { isAlive } from '../../libs/dev-services/src/processes';
import { buildStaleness } from '../../scripts/build-state';
import { TEST_ROOT_KEY } from './herald';

const ROOT = path.join(__dirname, '..', '..');
const ENTRY = {
  worker: path.join(ROOT, 'dist', 'apps', 'worker', 'src', 'main.js'),
  api: path.join(ROOT, 'dist', 'apps', 'api', 'src', 'main.js'),
  /** `npm start`'s all-in-one */
  herald: path.join(ROOT, 'dist', 'apps', 'herald', 'src', 'main.js'),
};
export interface BuildReport {
  built: boolean;
  seconds: number;
  reason: string;
}

/**
 * `npm run build` once per test run, so the process tests start the real entry points in dist/.
 * Files of one run share it (a marker per run), and concurrent runs take turns (one lock in
 * .herald/test/builds, taken over when its holder died). Skipped when dist/ is newer than every
 * source file, as make would; HERALD_TEST_BUILD=always builds regardless.
 */
export async function ensureBuilt(): Promise<BuildReport> {
  const dir = path.join(ROOT, '.herald', 'test', 'builds');
  mkdirSync(dir, { recursive: true });
  const done = path.join(dir, `${process.env.HERALD_QUEUE_PREFIX ?? 'no-run'}.done`);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.done'))) {
    const marker = path.join(dir, name);
    if (Date.now() - (statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 86_400_000) {
      rmSync(marker, { force: true });
    }
  }
  const startedAt = Date.now();
  if (existsSync(done)) return { built: false, seconds: 0, reason: 'built earlier in this run' };
  const release = await takeLock(path.join(dir, 'build.lock'));
  try {
    if (existsSync(done)) return { built: false, seconds: 0, reason: 'built earlier in this run' };
    const stale = buildStaleness(ROOT);
    if (!stale && process.env.HERALD_TEST_BUILD !== 'always') {
      writeFileSync(done, 'fresh');
      return { built: false, seconds: 0, reason: 'dist/ is newer than every source file' };
    }
    const result = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, encoding: 'utf8', env: process.env });
    if (result.status !== 0) {
      throw new Error(`npm run build failed (${result.status}):\n${result.stdout}\n${result.stderr}`.slice(0, 8000));
    }
    writeFileSync(done, 'built');
    return { built: true, seconds: (Date.now() - startedAt) / 1000, reason: stale ?? 'HERALD_TEST_BUILD=always' };
  } finally {
    release();
  }
}

async function takeLock(lock: string): Promise<() => void> {
  const owner = path.join(lock, 'pid');
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(owner, String(process.pid));
      return () => rmSync(lock, { recursive: true, force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number(existsSync(owner) ? readFileSync(owner, 'utf8') : NaN);
    if (Number.isInteger(holder) && !isAlive(holder)) rmSync(lock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error(`waited 5 min for another build (${lock})`);
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The environment a process under test gets: the run's services (or a file's own) and test settings. */
export function processEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    HERALD_ROOT_KEY: TEST_ROOT_KEY,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'info',
    RELAY_POLL_MS: '200',
    DATABASE_POOL_SIZE: '5',
    API_RATE_LIMIT_PER_SECOND: '0',
    // Several workers run side by side here: none needs its own health port.
    WORKER_HEALTH_PORT: '0',
    ...overrides,
  };
}

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface RunningProcess {
  child: ChildProcess;
  /** stdout lines parsed as pino JSON (other lines as { msg }) */
  logs: LogLine[];
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** resolves with the first log line `match` accepts, or fails when the process exits first */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** sends `signal` and waits for the exit; `ms` is the time from signal to exit */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

const started = new Set<ChildProcess>();

/**
 * `npm start`'s entry in development, as a newcomer runs it (no NODE_ENV, no root key: it makes them up
 * and seeds the dev tenant) with its data in `dataDir`, on a free port, once it has printed its keys.
 */
export async function startDevHerald(
  env: Record<string, string>,
  dataDir: string,
): Promise<{ herald: RunningProcess; port: number; base: string }> {
  const port = await freePort();
  const herald = startProcess(
    'herald',
    [],
    processEnv({ ...env, NODE_ENV: '', HERALD_ROOT_KEY: '', HERALD_DATA_DIR: dataDir, PORT: String(port) }),
  );
  await herald.waitForLog((l) => /^\[herald\] keys are also in/.test(String(l.msg)), 60_000);
  return { herald, port, base: `http://127.0.0.1:${port}` };
}

/** Starts `node dist/apps/<app>/src/main.js …args`: a real process, as a deployment runs it. */
export function startProcess(app: keyof typeof ENTRY, args: string[], env: Record<string, string>): RunningProcess {
  const child = spawn(process.execPath, [ENTRY[app], ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  const logs: LogLine[] = [];
  const watchers = new Set<() => void>();
  let stderr = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const watcher of watchers) watcher();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => {
      started.delete(child);
      resolve({ code, signal, at: Date.now() });
      for (const watcher of watchers) watcher();
    }),
  );
  const describe = () => `${app} ${args.join(' ')} (pid ${child.pid})`;

  return {
    child,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => finish(new Error(`${describe()}: no such log line in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (error?: Error, line?: LogLine) => {
          clearTimeout(timer);
          watchers.delete(check);
          if (error) reject(error);
          else resolve(line!);
        };
        const check = () => {
          const line = logs.find(match);
          if (line) finish(undefined, line);
          else if (child.exitCode !== null || child.signalCode !== null) {
            finish(new Error(`${describe()} exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-2000)}`));
          }
        };
        watchers.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM') {
      const sentAt = Date.now();
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const { code, signal: by, at } = await exited;
      return { code, signal: by, ms: at - sentAt };
    },
  };
}

/** Kills (SIGKILL) the processes a test started that are still running: for afterAll. */
export async function killStarted(): Promise<void> {
  const running = [...started];
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

export interface RawStream {
  response: IncomingMessage;
  /** everything received so far */
  text(): string;
  /** resolves with the whole body when the server ends the response, rejects when it is cut */
  ended: Promise<string>;
  close(): void;
}

/** An SSE stream read as raw text, to see exactly how the server ends it. */
export async function openRawStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });
  if (response.statusCode !== 200) throw new Error(`stream answered ${response.statusCode}`);
  let body = '';
  response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
  const ended = new Promise<string>((resolve, reject) => {
    response.once('end', () => resolve(body));
    response.once('error', reject);
    response.once('aborted', () => reject(new Error('stream cut without an end')));
  });
  ended.catch(() => undefined);
  return { response, text: () => body, ended, close: () => response.destroy() };
}

export interface SlowRequest {
  /**
   * Resolves once the server has read the request's headers and asked for its body (100 Continue): from
   * then on the request is in flight at the server, whatever else it is doing.
   */
  started: Promise<void>;
  /** sends the rest of the body */
  finish(): void;
  answer: Promise<{ status: number; body: string }>;
}

/**
 * A request kept in flight: its headers (with `Expect: 100-continue`) are sent now, the first part of its
 * body once the server answers 100 Continue, the rest when `finish()` is called. Over a keep-alive
 * connection, as browsers and SDKs send them.
 */
export function slowRequest(url: string, method: string, headers: Record<string, string>, body: string): SlowRequest {
  const req = request(url, {
    method,
    agent: new Agent({ keepAlive: true }),
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), expect: '100-continue' },
  });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (response) => {
      let text = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', reject);
    });
  });
  answer.catch(() => undefined);
  const half = Math.floor(body.length / 2);
  const started = new Promise<void>((resolve, reject) => {
    req.once('continue', () => {
      req.write(body.slice(0, half));
      resolve();
    });
    answer.then(() => reject(new Error('answered before asking for the body')), reject);
  });
  started.catch(() => undefined);
  req.flushHeaders();
  return { started, finish: () => req.end(body.slice(half)), answer };
}
