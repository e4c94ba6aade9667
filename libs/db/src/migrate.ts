import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

// The lock `prisma migrate deploy` takes, so our migrator and Prisma's never run at the same time.
const PRISMA_MIGRATE_LOCK = 72707369;

// Prisma's own definition, so `prisma migrate deploy/status` read our bookkeeping as theirs.
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

/** The repository's prisma/migrations, found from here both in the sources and in the compiled dist/. */
function defaultMigrationsDir(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`no prisma/migrations folder found above ${__dirname}`);
}

/** Prisma's checksum: SHA-256 of the script, hex. */
function checksum(script: Buffer | string): string {
  return createHash('sha256').update(script).digest('hex');
}

/** Prisma accepts a script whose line endings git changed since it was applied; so do we. */
function matchesChecksum(script: string, recorded: string): boolean {
  return [script, script.replace(/\r\n/g, '\n'), script.replace(/\r?\n/g, '\r\n')].some(
    (s) => checksum(s) === recorded,
  );
}

/**
 * Applies the migrations in `migrationsDir` (`<name>/migration.sql`, in name order) that the
 * database has not seen, each in its own transaction, and records them in `_prisma_migrations`
 * exactly as `prisma migrate deploy` would. Resolves with the names applied.
 */
export async function migrate(
  databaseUrl: string,
  migrationsDir = defaultMigrationsDir(),
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

  const client = new Client({ connectionString: databaseUrl });
  await client.connect().catch((error: Error) => {
    const { host, pathname } = new URL(databaseUrl);
    throw new Error(`cannot connect to ${host}${pathname} to migrate it: ${error.message}`, { cause: error });
  });
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const { rows } = await client.query<AppliedRow>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL',
    );
    const failed = rows.find((row) => row.finished_at === null);
    if (failed) {
      throw new Error(
        `migration ${failed.migration_name} failed earlier and is recorded as unfinished in _prisma_migrations: ` +
          'repair the database, then mark it with `prisma migrate resolve`',
      );
    }
    const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));

    const newlyApplied: string[] = [];
    for (const name of names) {
      const file = path.join(migrationsDir, name, 'migration.sql');
      const script = await readFile(file).catch(() => {
        throw new Error(`migration ${name} has no migration.sql (${file})`);
      });
      const recorded = applied.get(name);
      if (recorded !== undefined) {
        if (!matchesChecksum(script.toString('utf8'), recorded)) {
          throw new Error(
            `migration ${name} was edited after it was applied (its checksum differs from _prisma_migrations): ` +
              'restore the original file and put the change in a new migration',
          );
        }
        continue;
      }
      await applyOne(client, name, script);
      log(`applied migration ${name}`);
      newlyApplied.push(name);
    }
    return newlyApplied;
  } finally {
    // Ending the session also releases the advisory lock.
    await client.end();
  }
}

async function applyOne(client: Client, name: string, script: Buffer): Promise<void> {
  const id = randomUUID();
  try {
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
      [id, checksum(script), name],
    );
    // Simple-query protocol: a script of many statements runs as sent.
    await client.query(script.toString('utf8'));
    await client.query(
      'UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
      [id],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new Error(`migration ${name} failed and was rolled back: ${(error as Error).message}`, { cause: error });
  }
}
