import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { migrate } from '../../libs/db/src/migrate';
import { createTestDatabase } from '../helpers/databases';

const MIGRATION = '20261207050000_audit_log_dates';

describe('the migration that repairs audit rows whose dates were stored as {}', () => {
  it('turns each {} under a field named at or …At into null, at any depth, and leaves everything else alone', async () => {
    const all = path.join(__dirname, '..', '..', 'prisma', 'migrations');
    const before = await mkdtemp(path.join(os.tmpdir(), 'herald-migrations-'));
    const db = await createTestDatabase('audit-dates-migration');
    const client = new PgClient({ connectionString: db.url });
    try {
      for (const name of await readdir(all)) {
        if (name < MIGRATION) await cp(path.join(all, name), path.join(before, name), { recursive: true });
      }
      await migrate(db.url, before);
      await client.connect();
      // As the old writer stored a POST /v1/keys answer, a nested list, and a row it got right.
      const rows = [
        [null, { id: 'k1', key: '[Redacted]', createdAt: {}, expiresAt: {}, meta: {} }],
        [{ items: [{ id: 'a', updatedAt: {} }] }, { at: {}, name: 'x', options: {} }],
        [null, { id: 'k2', createdAt: '2026-12-07T10:00:00.000Z' }],
      ];
      for (const [b, a] of rows) {
        await client.query(
          `INSERT INTO audit_log (actor, action, target, before, after) VALUES ('root', 'POST /v1/keys', '/v1/keys', $1, $2)`,
          [b === null ? null : JSON.stringify(b), JSON.stringify(a)],
        );
      }

      expect(await migrate(db.url)).toContain(MIGRATION);
      const { rows: repaired } = await client.query('SELECT before, after FROM audit_log ORDER BY id');
      expect(repaired).toEqual([
        { before: null, after: { id: 'k1', key: '[Redacted]', createdAt: null, expiresAt: null, meta: {} } },
        { before: { items: [{ id: 'a', updatedAt: null }] }, after: { at: null, name: 'x', options: {} } },
        { before: null, after: { id: 'k2', createdAt: '2026-12-07T10:00:00.000Z' } },
      ]);
      const { rows: functions } = await client.query(
        `SELECT 1 FROM pg_proc WHERE proname = 'herald_audit_dates_repaired'`,
      );
      expect(functions).toEqual([]);
    } finally {
      await client.end().catch(() => undefined);
      await db.drop();
      await rm(before, { recursive: true, force: true });
    }
  });
});
