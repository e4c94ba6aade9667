import { Pool } from 'pg';
import { newId } from '@herald/core';
import { PrismaService } from '@herald/db';
import { createTestDatabase } from './databases';

export interface RepositoryDb {
  pool: Pool;
  prisma: PrismaService;
  /** A tenant row of its own, for each side of a cross-tenant check. */
  tenant(name?: string): Promise<string>;
  close(): Promise<void>;
}

/** A migrated database of the suite's own, with the pool and Prisma client the repositories take. */
export async function repositoryDb(label: string): Promise<RepositoryDb> {
  const db = await createTestDatabase(label, { migrate: true });
  const pool = new Pool({ connectionString: db.url });
  const prisma = new PrismaService(pool);
  return {
    pool,
    prisma,
    async tenant(name = 'tenant') {
      const id = newId();
      await pool.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [id, name]);
      return id;
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
      await db.drop();
    },
  };
}
