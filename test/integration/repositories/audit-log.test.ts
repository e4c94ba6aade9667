import { AuditLogRepository } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';

/** AuditLogRepository against Postgres: the interceptor's writes, a tenant's admin key reading them back. */
describe('AuditLogRepository', () => {
  let db: RepositoryDb;
  let audit: AuditLogRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-audit-log');
    audit = new AuditLogRepository(db.prisma, db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const entry = (tenantId: string | null, target: string) => ({
    tenantId,
    actor: 'key:abc',
    action: 'PUT /v1/rules/:eventType',
    target,
    before: null,
    after: JSON.stringify({ channels: ['email'] }),
  });

  it('record writes the entry as given, its before/after as JSON; a root change may name no tenant', async () => {
    await audit.record({
      tenantId: tenant,
      actor: 'key:k1',
      action: 'PUT /v1/rules/:eventType',
      target: '/v1/rules/order.shipped',
      before: JSON.stringify({ critical: false }),
      after: JSON.stringify({ critical: true }),
    });
    await audit.record({ ...entry(null, '/v1/tenants'), actor: 'root', before: null, after: null });
    const { rows } = await db.pool.query(
      `SELECT tenant_id AS "tenantId", actor, action, target, before, after, at FROM audit_log ORDER BY id`,
    );
    expect(rows).toEqual([
      {
        tenantId: tenant,
        actor: 'key:k1',
        action: 'PUT /v1/rules/:eventType',
        target: '/v1/rules/order.shipped',
        before: { critical: false },
        after: { critical: true },
        at: expect.any(Date),
      },
      {
        tenantId: null,
        actor: 'root',
        action: 'PUT /v1/rules/:eventType',
        target: '/v1/tenants',
        before: null,
        after: null,
        at: expect.any(Date),
      },
    ]);
  });

  it('page gives the tenant’s entries newest first, before an id, one more than the limit; none of another’s', async () => {
    const t = await db.tenant('pager');
    for (const target of ['/a', '/b', '/c', '/d']) await audit.record(entry(t, target));
    await audit.record(entry(other, '/theirs'));
    await audit.record(entry(null, '/root'));
    const targets = (rows: { target: string }[]) => rows.map((r) => r.target);

    const all = await audit.page(t, undefined, 10);
    expect(targets(all)).toEqual(['/d', '/c', '/b', '/a']);
    expect(all.every((r) => r.tenantId === t)).toBe(true);
    expect(all[0].after).toEqual({ channels: ['email'] });

    const first = await audit.page(t, undefined, 2);
    expect(targets(first)).toEqual(['/d', '/c', '/b']);
    expect(targets(await audit.page(t, first[1].id, 2))).toEqual(['/b', '/a']);
    expect(await audit.page(t, all[3].id, 2)).toEqual([]);
    expect(targets(await audit.page(other, undefined, 10))).toEqual(['/theirs']);
  });
});
