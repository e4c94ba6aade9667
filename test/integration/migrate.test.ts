import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrate } from '../../libs/db/src/migrate';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';

const migrationsDir = path.join(__dirname, '..', '..', 'prisma', 'migrations');

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** Every migration in the repository, in the order they apply. */
async function allMigrations(): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** A copy of prisma/migrations to tamper with. */
async function copyOfMigrations(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-migrations-'));
  await cp(migrationsDir, dir, { recursive: true });
  return dir;
}

describe('migrate', () => {
  let db: TestDatabase;
  const tempDirs: string[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('migrate');
  });
  afterEach(async () => {
    await db.drop();
    await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('applies every migration once and records it as prisma migrate deploy does', async () => {
    const names = await allMigrations();
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(await migrate(db.url)).toEqual(names);
    expect(await migrate(db.url)).toEqual([]);

    const rows = await query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      logs: string | null;
      rolled_back_at: Date | null;
      applied_steps_count: number;
    }>(
      db.url,
      `SELECT migration_name, checksum, finished_at, logs, rolled_back_at, applied_steps_count
       FROM _prisma_migrations ORDER BY migration_name`,
    );
    const expected = await Promise.all(
      names.map(async (name) => ({
        migration_name: name,
        checksum: createHash('sha256')
          .update(await readFile(path.join(migrationsDir, name, 'migration.sql')))
          .digest('hex'),
        finished_at: expect.any(Date),
        logs: null,
        rolled_back_at: null,
        applied_steps_count: 1,
      })),
    );
    expect(rows).toEqual(expected);
  });

  it('creates _prisma_migrations with the definition Prisma uses', async () => {
    await migrate(db.url);
    const columns = await query<{
      column_name: string;
      data_type: string;
      len: number | null;
      is_nullable: string;
      column_default: string | null;
    }>(
      db.url,
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
       FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        len: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        len: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ]);
  });

  it('lets concurrent migrators apply each migration exactly once', async () => {
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);
    const names = await allMigrations();
    expect(results.flat().sort()).toEqual(names);
    expect(await query(db.url, 'SELECT 1 FROM _prisma_migrations')).toHaveLength(names.length);
  });

  it('refuses a migration edited after it was applied', async () => {
    await migrate(db.url);
    const dir = await copyOfMigrations();
    tempDirs.push(dir);
    const file = path.join(dir, '20261122000000_init', 'migration.sql');
    await writeFile(file, `${await readFile(file, 'utf8')}\n-- an afterthought\n`);

    await expect(migrate(db.url, dir)).rejects.toThrow(/migration 20261122000000_init was edited after it was applied/);
  });

  it('accepts an applied migration whose line endings git changed', async () => {
    await migrate(db.url);
    const dir = await copyOfMigrations();
    tempDirs.push(dir);
    const file = path.join(dir, '20261122000000_init', 'migration.sql');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/\n/g, '\r\n'));

    await expect(migrate(db.url, dir)).resolves.toEqual([]);
  });

  it('rolls a failing migration back, records nothing and names it', async () => {
    const dir = await copyOfMigrations();
    tempDirs.push(dir);
    await mkdir(path.join(dir, '29991231000000_broken'));
    await writeFile(
      path.join(dir, '29991231000000_broken', 'migration.sql'),
      'CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;\n',
    );

    await expect(migrate(db.url, dir)).rejects.toThrow(
      /migration 29991231000000_broken failed and was rolled back: .*no_such_table/,
    );
    const recorded = await query<{ migration_name: string }>(
      db.url,
      'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
    );
    expect(recorded.map((row) => row.migration_name)).toEqual(await allMigrations());
    expect(await query(db.url, `SELECT 1 FROM pg_class WHERE relname = 'half_done'`)).toEqual([]);
  });
});
