import { newId } from '@herald/core';
import { TenantsRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

describe('TenantsRepository', () => {
  let db: RepositoryDb;
  let tenants: TenantsRepository;

  beforeAll(async () => {
    db = await repositoryDb('repo-tenants');
    tenants = new TenantsRepository(db.prisma);
  });
  afterAll(() => db.close());

  const revokedAt = async (id: string) =>
    (
      await db.pool.query<{ revokedAt: Date | null }>('SELECT revoked_at AS "revokedAt" FROM tenants WHERE id = $1', [
        id,
      ])
    ).rows[0]?.revokedAt;

  it('create makes a tenant with a new id and the name', async () => {
    const created = await tenants.create('acme');
    expect(created).toEqual({ id: expect.any(String), name: 'acme' });
    const { rows } = await db.pool.query('SELECT name, revoked_at AS "revokedAt" FROM tenants WHERE id = $1', [
      created.id,
    ]);
    expect(rows).toEqual([{ name: 'acme', revokedAt: null }]);
  });

  it('exists: true for a tenant, suspended or not; false for an unknown id', async () => {
    const id = await db.tenant();
    expect(await tenants.exists(id)).toBe(true);
    await tenants.revoke(id);
    expect(await tenants.exists(id)).toBe(true);
    expect(await tenants.exists(newId())).toBe(false);
  });

  it('revoke suspends that tenant once, and no other', async () => {
    const id = await db.tenant();
    const other = await db.tenant();
    expect(await tenants.revoke(id)).toBe(true);
    expect(await revokedAt(id)).toBeInstanceOf(Date);
    expect(await revokedAt(other)).toBeNull();
    expect(await tenants.revoke(id)).toBe(false);
    expect(await tenants.revoke(newId())).toBe(false);
  });

  it('isRevoked tells a suspended tenant from a live or unknown one', async () => {
    const id = await db.tenant();
    const other = await db.tenant();
    expect(await tenants.isRevoked(id)).toBe(false);
    await tenants.revoke(id);
    expect(await tenants.isRevoked(id)).toBe(true);
    expect(await tenants.isRevoked(other)).toBe(false);
    expect(await tenants.isRevoked(newId())).toBe(false);
  });
});
