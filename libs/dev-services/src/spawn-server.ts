import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { freePort } from './free-port';
import { displayPath } from './local-service';
import { waitFor } from './processes';

export interface SpawnServerOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  uid?: number;
  gid?: number;
  ready: () => Promise<unknown>;
  timeoutMs: number;
}

class PortInUseError extends Error {}

/**
 * Starts a server in its own session, so a Ctrl-C meant for the parent does not stop it mid-shutdown
 * and a crashed parent leaves it running for the next run to reuse. Resolves with its pid once
 * `ready` succeeds; a server that exits first fails with the end of its log.
 */
export async function spawnServer(options: SpawnServerOptions): Promise<number> {
  const logHandle = await open(options.logFile, 'w');
  let exit: string | undefined;
  const child = spawn(options.command, options.args, {
    detached: true,
    stdio: ['ignore', logHandle.fd, logHandle.fd],
    uid: options.uid,
    gid: options.gid,
    cwd: '/',
    // English messages: the log is searched for "Address already in use".
    env: { ...process.env, LC_ALL: 'C' },
  });
  await logHandle.close();
  child.once('exit', (code, signal) => (exit = signal ? `signal ${signal}` : `exit code ${code}`));
  child.once('error', (error) => (exit = error.message));

  const ready = await waitFor(
    async () =>
      exit !== undefined ||
      (await options.ready().then(
        () => true,
        () => false,
      )),
    options.timeoutMs,
  );
  if (ready && exit === undefined && child.pid) {
    child.unref();
    return child.pid;
  }
  if (exit === undefined) child.kill('SIGKILL');
  const output = (await readFile(options.logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-4).join(' | ');
  if (/address already in use/i.test(output)) throw new PortInUseError(output);
  const what =
    exit === undefined ? `did not answer within ${options.timeoutMs / 1000}s` : `exited while starting (${exit})`;
  throw new Error(`${options.name} ${what}: ${output || 'no output'} (log: ${displayPath(options.logFile)})`);
}

/** Runs `start` on a free port, trying another one when a different process took the port in between. */
export async function onFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (!(error instanceof PortInUseError) || attempt === 3) throw error;
    }
  }
}
