import { mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from './processes';

const LOCK_WAIT_MS = 10 * 60_000;

/**
 * Several processes may use one data folder at once (two test runs, say). `${dataDir}/<name>.lock`
 * serializes starting and stopping its server, and `${dataDir}/<name>.users/<pid>` records who uses
 * it: the last live user stops it. Entries of dead processes count for nothing, so a crash never
 * blocks the next run.
 */
export class ServerLease {
  private readonly lockFile: string;
  private readonly usersDir: string;

  constructor(dataDir: string, name: string) {
    this.lockFile = path.join(dataDir, `${name}.lock`);
    this.usersDir = path.join(dataDir, `${name}.users`);
  }

  async locked<T>(work: () => Promise<T>): Promise<T> {
    await this.lock();
    try {
      return await work();
    } finally {
      await rm(this.lockFile, { force: true });
    }
  }

  async join(): Promise<void> {
    await mkdir(this.usersDir, { recursive: true });
    await writeFile(path.join(this.usersDir, String(process.pid)), '');
  }

  /** Leaves, and tells whether no other live process still uses the server. */
  async leave(): Promise<boolean> {
    await rm(path.join(this.usersDir, String(process.pid)), { force: true });
    const users = await readdir(this.usersDir).catch(() => []);
    let others = 0;
    for (const user of users) {
      if (isAlive(Number(user))) others++;
      else await rm(path.join(this.usersDir, user), { force: true });
    }
    return others === 0;
  }

  private async lock(): Promise<void> {
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(this.lockFile, 'wx');
        await handle.writeFile(String(process.pid));
        await handle.close();
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = Number(await readFile(this.lockFile, 'utf8').catch(() => ''));
      // An empty file is a holder between creating and writing it, unless that was seconds ago.
      const crashed = holder
        ? !isAlive(holder)
        : Date.now() - (await stat(this.lockFile).catch(() => ({ mtimeMs: 0 }))).mtimeMs > 5000;
      if (crashed) {
        await rm(this.lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.lockFile} is held by process ${holder} for too long: stop that process or delete the file`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
