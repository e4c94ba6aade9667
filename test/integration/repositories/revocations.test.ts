import { newId } from '@herald/core';
import { RevocationsRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

describe('RevocationsRepository', () => {
  let db: RepositoryDb;
  let revocations: RevocationsRepository;

  beforeAll(async () => {
    db = await repositoryDb('repo-revocations');
    revocations = new RevocationsRepository(db.pool);
  });
  afterAll(() => db.close());

  async function key(tenantId: string, revokedAgo: string | null): Promise<string> {
    const id = newId();
    await db.pool.query(
      `INSERT INTO api_keys (id, tenant_id, scope, prefix, hash, revoked_at)
       VALUES ($1, $2, 'admin', 'hk_admin_x', $3, now() - $4::interval)`,
      [id, tenantId, `hash-${id}`, revokedAgo],
    );
    return id;
  }

  it('revokedWithin (system) gives the keys and tenants of every tenant revoked in the window', async () => {
    const a = await db.tenant('a');
    const b = await db.tenant('b');
    const suspended = await db.tenant('suspended');
    const longAgo = await db.tenant('long ago');
    const aKey = await key(a, '1 second');
    const bKey = await key(b, '5 seconds');
    await key(a, null);
    await key(b, '10 minutes');
    await db.pool.query(`UPDATE tenants SET revoked_at = now() - interval '2 seconds' WHERE id = $1`, [suspended]);
    await db.pool.query(`UPDATE tenants SET revoked_at = now() - interval '1 hour' WHERE id = $1`, [longAgo]);

    const recent = await revocations.revokedWithin(60);
    expect(recent).toHaveLength(3);
    expect(recent).toEqual(
      expect.arrayContaining([
        { tenantId: a, keyId: aKey },
        { tenantId: b, keyId: bKey },
        { tenantId: suspended, keyId: null },
      ]),
    );
    expect(await revocations.revokedWithin(3)).toEqual([
      { tenantId: a, keyId: aKey },
      { tenantId: suspended, keyId: null },
    ]);
  });
});
