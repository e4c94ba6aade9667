import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:net';
import { postgresRunAs, type RunAs } from '../../libs/dev-services/src/postgres-user';
import { postgresVersion, redisServerInfo } from '../../libs/dev-services/src/probes';
import { waitFor } from '../../libs/dev-services/src/processes';
import { runCommand } from '../../libs/dev-services/src/run-command';

/**
 * A free port below Linux's ephemeral range (32768 and up): while the server is down, its clients
 * keep reconnecting, and one of them could be handed the server's own port as its local port
 * (a TCP self-connect), which would keep the server from listening there again.
 */
async function stablePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/**
 * A server a chaos test owns: its own data folder and port, stopped and started again at will
 * (always on the same port, so the clients' URLs stay valid).
 */
abstract class OwnServer {
  private child?: ChildProcess;

  protected constructor(
    readonly name: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const log = await open(path.join(this.dir, `${this.name}.log`), 'a');
    const [command, args, runAs] = this.command();
    // A process group of its own, so crash() can kill the server with every process it forked.
    const child = spawn(command, args, {
      cwd: this.dir,
      stdio: ['ignore', log.fd, log.fd],
      uid: runAs?.uid,
      gid: runAs?.gid,
      env: { ...process.env, LC_ALL: 'C' },
      detached: true,
    });
    await log.close();
    this.child = child;
    const ready = await waitFor(
      () =>
        !this.running ||
        this.ready().then(
          () => true,
          () => false,
        ),
      60_000,
      100,
    );
    if (!ready || !this.running) throw new Error(`${this.name} did not start on ${this.port} (log in ${this.dir})`);
  }

  /** A clean stop (`signal`), waited for. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  }

  /**
   * SIGKILL to the server and every process it forked (its process group), as when a container or
   * its machine dies: nothing gets to flush or say goodbye. Resolves with how the server was seen to
   * exit (the signal that ended it), once it has.
   */
  async crash(): Promise<NodeJS.Signals | null> {
    const child = this.child;
    if (!child?.pid || !this.running) throw new Error(`${this.name} is not running`);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal: NodeJS.Signals | null) => resolve(signal)),
    );
    process.kill(-child.pid, 'SIGKILL');
    return exited;
  }

  /** The server's own log (stdout and stderr) so far. */
  log(): Promise<string> {
    return readFile(path.join(this.dir, `${this.name}.log`), 'utf8').catch(() => '');
  }

  /** Stops the server (with every process it forked) and forgets its folder. */
  async destroy(): Promise<void> {
    if (this.running) await this.crash();
    await rm(this.dir, { recursive: true, force: true });
  }

  protected abstract command(): [string, string[], RunAs | undefined];
  protected abstract ready(): Promise<unknown>;
}

/**
 * Redis with its append-only file on, as production runs it (docker-compose.yml: appendonly yes,
 * and appendfsync everysec, Redis' default). A restart keeps the queues, `wipe()` loses them.
 *
 * What a SIGKILL can lose with everysec: Redis write()s the AOF before it answers a command and
 * fsyncs it once a second, so a killed process usually loses nothing it answered (the kernel still has
 * the writes). Not always: while a background fsync is still running (a slow or busy disk), Redis
 * postpones the write() for up to 2 s and answers anyway, and a SIGKILL then loses those writes. A
 * machine that dies loses up to the last second or two of writes that were not fsynced yet. Herald loses nothing either way because Redis holds only what can be rebuilt: events, the
 * outbox and every delivery's status, retry budget and lease are in Postgres; the relay publishes
 * the outbox again, and housekeeping re-queues deliveries whose jobs are gone (`wipe()` tests the
 * worst case, every job lost).
 */
export class ChaosRedis extends OwnServer {
  static async start(): Promise<ChaosRedis> {
    const redis = new ChaosRedis(
      'redis',
      await mkdtemp(path.join(tmpdir(), 'herald-chaos-redis-')),
      await stablePort(),
    );
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Whether the AOF files hold `text`: written to the kernel, so a SIGKILL of Redis can no longer lose it. */
  async aofHolds(text: string): Promise<boolean> {
    const dir = path.join(this.dir, 'appendonlydir');
    const files = await readdir(dir).catch(() => [] as string[]);
    for (const file of files) if ((await readFile(path.join(dir, file), 'latin1')).includes(text)) return true;
    return false;
  }

  /** Deletes the AOF and RDB files (the server must be stopped): the next start is empty. */
  async wipe(): Promise<void> {
    if (this.running) throw new Error('stop Redis before wiping its data');
    for (const entry of await readdir(this.dir)) {
      if (entry !== `${this.name}.log`) await rm(path.join(this.dir, entry), { recursive: true, force: true });
    }
  }

  protected command(): [string, string[], undefined] {
    // prettier-ignore
    return ['redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir,
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction',
    ], undefined];
  }

  protected ready(): Promise<unknown> {
    return redisServerInfo(this.url, 1000);
  }
}

/**
 * A Postgres cluster of its own (initdb in a temporary folder), durable as in production (fsync and
 * full_page_writes on), so `crash()` (SIGKILL of the postmaster and its backends) is followed by
 * crash recovery from the WAL on the next start; `stop()` is a fast shutdown.
 */
export class ChaosPostgres extends OwnServer {
  private constructor(
    dir: string,
    port: number,
    private readonly runAs: RunAs | undefined,
  ) {
    super('postgres', dir, port);
  }

  static async start(): Promise<ChaosPostgres> {
    const dir = await mkdtemp(path.join(tmpdir(), 'herald-chaos-pg-'));
    const data = path.join(dir, 'data');
    // Postgres refuses to run as root: as root, the folder goes to the postgres OS user.
    const runAs = await postgresRunAs(data);
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    await mkdir(data, { mode: 0o700 });
    if (runAs) await chown(data, runAs.uid, runAs.gid);
    await runCommand('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '-N'], {
      ...runAs,
      cwd: dir,
      env: { ...process.env, LC_ALL: 'C' },
    });
    const pg = new ChaosPostgres(dir, await stablePort(), runAs);
    await pg.start();
    return pg;
  }

  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** SIGINT is Postgres' fast shutdown: sessions are ended, committed work is kept. */
  override stop(signal: NodeJS.Signals = 'SIGINT'): Promise<void> {
    return super.stop(signal);
  }

  protected command(): [string, string[], RunAs | undefined] {
    // prettier-ignore
    return ['postgres', [
      '-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', '',
      '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300',
      // as production: a commit is on disk before it is answered, and a crash recovers from the WAL
      '-c', 'fsync=on', '-c', 'full_page_writes=on', '-c', 'synchronous_commit=on',
    ], this.runAs];
  }

  /** How many times the cluster started with crash recovery ("not properly shut down") so far. */
  async recoveries(): Promise<number> {
    return (await this.log()).split('\n').filter((line) => CRASH_RECOVERY.test(line)).length;
  }

  protected ready(): Promise<unknown> {
    return postgresVersion(this.url(), 1000);
  }
}

// What Postgres logs when it starts after a crash and replays the WAL.
const CRASH_RECOVERY = /database system was not properly shut down; automatic recovery in progress/;
