import { newId } from '@herald/core';
import { ApiKeysRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

describe('ApiKeysRepository', () => {
  let db: RepositoryDb;
  let keys: ApiKeysRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-api-keys');
    keys = new ApiKeysRepository(db.prisma, db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  async function key(tenantId: string, scope: 'admin' | 'ingest' = 'admin') {
    const row = { id: newId(), scope, prefix: `hk_${scope}_x`, hash: `hash-${newId()}` };
    await keys.create(tenantId, row);
    return row;
  }
  const stored = async (id: string) =>
    (
      await db.pool.query<{ tenantId: string; revokedAt: Date | null; lastUsedAt: Date | null }>(
        `SELECT tenant_id AS "tenantId", revoked_at AS "revokedAt", last_used_at AS "lastUsedAt" FROM api_keys
         WHERE id = $1`,
        [id],
      )
    ).rows[0];

  it('create stores the key under the tenant', async () => {
    const created = await key(tenant, 'ingest');
    expect(await stored(created.id)).toEqual({ tenantId: tenant, revokedAt: null, lastUsedAt: null });
  });

  it("list gives the tenant's keys oldest first, revoked ones too, and none of another tenant's", async () => {
    const t = await db.tenant();
    const first = await key(t, 'admin');
    const second = await key(t, 'ingest');
    await keys.revoke(t, second.id);
    await key(other);
    const listed = await keys.list(t);
    expect(listed.map((k) => [k.id, k.scope, k.prefix, k.hash, k.revokedAt !== null])).toEqual([
      [first.id, 'admin', first.prefix, first.hash, false],
      [second.id, 'ingest', second.prefix, second.hash, true],
    ]);
  });

  it('revoke revokes a live key of the tenant once; not another tenant’s', async () => {
    const mine = await key(tenant);
    const theirs = await key(other);
    expect(await keys.revoke(tenant, theirs.id)).toBe(false);
    expect((await stored(theirs.id))!.revokedAt).toBeNull();
    expect(await keys.revoke(tenant, mine.id)).toBe(true);
    expect((await stored(mine.id))!.revokedAt).toBeInstanceOf(Date);
    expect(await keys.revoke(tenant, mine.id)).toBe(false);
  });

  it('isLive: the tenant’s key, not revoked, its tenant not revoked', async () => {
    const t = await db.tenant();
    const live = await key(t);
    const revoked = await key(t);
    await keys.revoke(t, revoked.id);
    expect(await keys.isLive(t, live.id)).toBe(true);
    expect(await keys.isLive(t, revoked.id)).toBe(false);
    expect(await keys.isLive(other, live.id)).toBe(false);
    await db.pool.query('UPDATE tenants SET revoked_at = now() WHERE id = $1', [t]);
    expect(await keys.isLive(t, live.id)).toBe(false);
  });

  it('touch stamps last_used_at of the tenant’s key only', async () => {
    const mine = await key(tenant);
    const at = new Date('2026-01-02T03:04:05.000Z');
    await keys.touch(other, mine.id, at);
    expect((await stored(mine.id))!.lastUsedAt).toBeNull();
    await keys.touch(tenant, mine.id, at);
    expect((await stored(mine.id))!.lastUsedAt).toEqual(at);
  });

  it('liveByHash (system) finds a live key and its tenant, not a revoked key nor a revoked tenant’s', async () => {
    const t = await db.tenant();
    const live = await key(t, 'ingest');
    const revoked = await key(t);
    await keys.revoke(t, revoked.id);
    expect(await keys.liveByHash(live.hash)).toEqual({ id: live.id, tenantId: t, scope: 'ingest' });
    expect(await keys.liveByHash(revoked.hash)).toBeNull();
    expect(await keys.liveByHash('no-such-hash')).toBeNull();
    await db.pool.query('UPDATE tenants SET revoked_at = now() WHERE id = $1', [t]);
    expect(await keys.liveByHash(live.hash)).toBeNull();
  });
});
