import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { displayPath, type Log, type LocalService } from './local-service';
import { isAlive, sendSignal, waitFor } from './processes';
import { redisServerInfo } from './probes';
import { redisServerBinary } from './redis-binary';
import { ServerLease } from './server-lease';
import { onFreePort, spawnServer } from './spawn-server';

interface RedisState {
  pid: number;
  port: number;
}

/**
 * A throw-away Redis for development and tests: no RDB snapshots, no AOF, bound to 127.0.0.1 on a
 * free port. `${dataDir}/redis/server.json` records it so a later run can reuse it.
 */
export async function startLocalRedis(dataDir: string, log: Log): Promise<LocalService> {
  const dir = path.join(dataDir, 'redis');
  const stateFile = path.join(dir, 'server.json');
  await mkdir(dir, { recursive: true });
  const lease = new ServerLease(dataDir, 'redis');

  return lease.locked(async () => {
    const reused = await runningServer(stateFile, log);
    const server = reused ?? (await startServer(dir, stateFile, log));
    await lease.join();
    return {
      url: `redis://127.0.0.1:${server.port}`,
      started: !reused,
      stop: () =>
        lease.locked(async () => {
          if (await lease.leave()) await stopServer(server.pid, stateFile);
        }),
    };
  });
}

async function runningServer(stateFile: string, log: Log): Promise<RedisState | undefined> {
  const state = await readFile(stateFile, 'utf8').then(
    (text) => JSON.parse(text) as RedisState,
    () => undefined,
  );
  if (!state) return undefined;
  // The recorded port must be served by the recorded process: after a crash either may belong to someone else.
  const info = isAlive(state.pid)
    ? await redisServerInfo(`redis://127.0.0.1:${state.port}`, 1000).catch(() => undefined)
    : undefined;
  if (info?.process_id !== String(state.pid)) {
    await rm(stateFile, { force: true });
    return undefined;
  }
  log(`reusing redis-server ${info.redis_version} on 127.0.0.1:${state.port} (pid ${state.pid}, already running)`);
  return state;
}

async function startServer(dir: string, stateFile: string, log: Log): Promise<RedisState> {
  const binary = await redisServerBinary(log);
  return onFreePort(async (port) => {
    let version = '';
    const pid = await spawnServer({
      name: 'redis-server',
      command: binary,
      // prettier-ignore
      args: [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
        '--dir', dir, '--daemonize', 'no', '--pidfile', path.join(dir, 'redis.pid'),
      ],
      logFile: path.join(dir, 'redis.log'),
      ready: async () => (version = (await redisServerInfo(`redis://127.0.0.1:${port}`, 1000)).redis_version),
      timeoutMs: 20_000,
    });
    await writeFile(stateFile, JSON.stringify({ pid, port } satisfies RedisState));
    log(`started redis-server ${version} on 127.0.0.1:${port} (data ${displayPath(dir)})`);
    return { pid, port };
  });
}

async function stopServer(pid: number, stateFile: string): Promise<void> {
  // SIGTERM is SHUTDOWN for redis-server; with snapshots off it writes nothing.
  sendSignal(pid, 'SIGTERM');
  if (!(await waitFor(() => !isAlive(pid), 10_000))) sendSignal(pid, 'SIGKILL');
  await rm(stateFile, { force: true });
}
