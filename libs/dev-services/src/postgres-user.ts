import { stat } from 'node:fs/promises';
import { runCommand } from './run-command';

export interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Postgres refuses to run as root. As root we run it as the owner of an existing data folder, else as
 * the `postgres` OS user, created when missing. Undefined when we are not root: it runs as us.
 */
export async function postgresRunAs(pgDir: string): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const existing = await stat(pgDir).catch(() => undefined);
  if (existing && existing.uid !== 0) return { uid: existing.uid, gid: existing.gid };
  return osUser('postgres');
}

async function osUser(name: string): Promise<RunAs> {
  const lookUp = async () => ({
    uid: Number((await runCommand('id', ['-u', name])).trim()),
    gid: Number((await runCommand('id', ['-g', name])).trim()),
  });
  try {
    return await lookUp();
  } catch {
    const groupExists = await runCommand('getent', ['group', name]).then(
      () => true,
      () => false,
    );
    const group = groupExists ? ['--gid', name] : ['--user-group'];
    await runCommand('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', ...group, name]);
    return lookUp();
  }
}

/** Whether `runAs` can enter `dir` (every folder on its path traversable by that user). */
export async function canEnter(dir: string, runAs: RunAs | undefined): Promise<boolean> {
  if (!runAs) return true;
  return runCommand('test', ['-x', dir], { ...runAs, cwd: '/' }).then(
    () => true,
    () => false,
  );
}

/** A folder out of that user's reach: say so instead of letting initdb fail obscurely. */
export async function assertCanEnter(dir: string, runAs: RunAs | undefined): Promise<void> {
  if (runAs && !(await canEnter(dir, runAs))) {
    throw new Error(
      `the OS user Postgres runs as (uid ${runAs.uid}; Postgres refuses to run as root) cannot enter ${dir}: ` +
        'make the folders on that path traversable (chmod o+x) or set DATABASE_URL to a running Postgres',
    );
  }
}
