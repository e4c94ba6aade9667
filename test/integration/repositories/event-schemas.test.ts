import { Pool } from 'pg';
import { newId } from '@herald/core';
import { EventSchemasRepository, PrismaService } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';

const schemaV = (n: number) => ({ type: 'object', properties: { [`p${n}`]: { type: 'string' } } });

describe('EventSchemasRepository', () => {
  let db: TestDatabase;
  let pool: Pool;
  let prisma: PrismaService;
  let schemas: EventSchemasRepository;
  const tenant = newId();
  const other = newId();

  async function publish(tenantId: string, type: string, version: number) {
    return schemas.publishing(tenantId, type, (versions) => versions.create(version, schemaV(version)));
  }

  beforeAll(async () => {
    db = await createTestDatabase('repo_event_schemas', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    prisma = new PrismaService(pool);
    schemas = new EventSchemasRepository(prisma, pool);
    await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'schemas'), ($2, 'other')`, [tenant, other]);
    await publish(tenant, 'greet', 1);
    await publish(tenant, 'greet', 2);
    await publish(tenant, 'bye', 1);
    // Another tenant's versions of the same type, newer than this tenant's.
    for (const v of [1, 2, 3]) await publish(other, 'greet', v);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await pool.end();
    await db.drop();
  });

  describe('publishing', () => {
    it("reads the type's newest and one version, and creates one, under the tenant only", async () => {
      const seen = await schemas.publishing(tenant, 'greet', async (versions) => ({
        newest: await versions.newest(),
        one: await versions.get(1),
        three: await versions.get(3), // only the other tenant has a version 3
        created: await versions.create(7, schemaV(7)),
      }));
      expect(seen.newest).toMatchObject({ eventType: 'greet', version: 2, schema: schemaV(2) });
      expect(seen.one).toMatchObject({ version: 1, schema: schemaV(1) });
      expect(seen.three).toBeNull();
      expect(seen.created).toMatchObject({ eventType: 'greet', version: 7, createdAt: expect.any(Date) });
      expect((await schemas.list(tenant, 'greet')).map((r) => r.version)).toEqual([1, 2, 7]);
      expect((await schemas.list(other, 'greet')).map((r) => r.version)).toEqual([1, 2, 3]);
      expect(await schemas.publishing(tenant, 'none', (versions) => versions.newest())).toBeNull();
    });

    it('rolls back what was created when the work throws', async () => {
      await expect(
        schemas.publishing(tenant, 'bye', async (versions) => {
          await versions.create(5, schemaV(5));
          throw new Error('refused');
        }),
      ).rejects.toThrow('refused');
      expect(await schemas.get(tenant, 'bye', 5)).toBeNull();
    });

    it('holds the type’s lock: a second publisher of the type waits for the first', async () => {
      const order: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const first = schemas.publishing(tenant, 'locked', async () => {
        order.push('first in');
        await held;
        order.push('first out');
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = schemas.publishing(tenant, 'locked', async () => void order.push('second in'));
      // Another tenant's type of the same name is not held up.
      await schemas.publishing(other, 'locked', async () => void order.push('other in'));
      await new Promise((resolve) => setTimeout(resolve, 100));
      release();
      await Promise.all([first, second]);
      expect(order).toEqual(['first in', 'other in', 'first out', 'second in']);
    });
  });

  it("list: the type's versions, oldest first, only the tenant's", async () => {
    const rows = await schemas.list(tenant, 'bye');
    expect(rows).toEqual([expect.objectContaining({ eventType: 'bye', version: 1, schema: schemaV(1) })]);
    expect(await schemas.list(other, 'bye')).toEqual([]);
  });

  it("get: one version, only the tenant's", async () => {
    expect(await schemas.get(tenant, 'greet', 2)).toEqual({
      eventType: 'greet',
      version: 2,
      schema: schemaV(2),
      createdAt: expect.any(Date),
    });
    expect(await schemas.get(tenant, 'greet', 3)).toBeNull();
    expect(await schemas.get(other, 'greet', 3)).toMatchObject({ version: 3 });
  });

  it("types: each type with its newest version and count, only the tenant's", async () => {
    expect(await schemas.types(tenant)).toEqual([
      { type: 'bye', latestVersion: 1, versions: 1 },
      { type: 'greet', latestVersion: 7, versions: 3 },
    ]);
    expect(await schemas.types(other)).toEqual([{ type: 'greet', latestVersion: 3, versions: 3 }]);
  });

  it('newest: per (tenant, type) pair, each under its own tenant', async () => {
    const rows = await schemas.newest([
      { tenantId: tenant, type: 'greet' },
      { tenantId: tenant, type: 'bye' },
      { tenantId: tenant, type: 'none' },
      { tenantId: other, type: 'greet' },
    ]);
    expect(rows).toHaveLength(3);
    expect(rows).toEqual(
      expect.arrayContaining([
        { tenantId: tenant, type: 'greet', version: 7, schema: schemaV(7) },
        { tenantId: tenant, type: 'bye', version: 1, schema: schemaV(1) },
        { tenantId: other, type: 'greet', version: 3, schema: schemaV(3) },
      ]),
    );
    // Only the pair asked about: not the other tenant's version of the same type.
    expect(await schemas.newest([{ tenantId: tenant, type: 'greet' }])).toEqual([
      { tenantId: tenant, type: 'greet', version: 7, schema: schemaV(7) },
    ]);
    expect(await schemas.newest([])).toEqual([]);
  });
});
