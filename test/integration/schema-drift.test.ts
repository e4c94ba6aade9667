import path from 'node:path';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { loadDmmf } from '../helpers/prisma-dmmf';
import { diffShapes, introspect, shapeFromDmmf, type SchemaShape } from '../helpers/schema-drift';

// Objects the migrations create on purpose although schema.prisma cannot express them
// (the trigger and its function are not compared at all).
const SQL_ONLY = [
  '_prisma_migrations',
  'outbox_unpublished_idx',
  // partial and expression indexes of the periodic statements (20261207030000_retention)
  'events_idempotency_key_created_at_idx',
  'events_stuck_idx',
  'events_finished_idx',
  'events_retained_until_idx',
  'deliveries_stuck_idx',
  'deliveries_dead_idx',
  'inbox_messages_archived_idx',
  'outbox_published_idx',
  // partial: only the rows they are read for (20261207040000_lean_delivery_indexes)
  'deliveries_dead_by_tenant_idx',
  'deliveries_provider_message_id_idx',
];

async function databaseShape(url: string, extraSql?: string): Promise<SchemaShape> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    if (extraSql) await client.query(extraSql);
    return await introspect(client, SQL_ONLY);
  } finally {
    await client.end();
  }
}

describe('prisma/migrations against schema.prisma', () => {
  let schema: SchemaShape;
  const databases: TestDatabase[] = [];

  beforeAll(async () => {
    schema = shapeFromDmmf(await loadDmmf(path.join(__dirname, '..', '..', 'prisma', 'schema.prisma')));
  });
  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  async function migratedDatabase(label: string): Promise<TestDatabase> {
    const db = await createTestDatabase(label, { migrate: true });
    databases.push(db);
    return db;
  }

  it('the migrated database is exactly what schema.prisma describes', async () => {
    const db = await migratedDatabase('drift');
    expect(diffShapes(schema, await databaseShape(db.url))).toEqual([]);
  });

  it('reports a database that drifted', async () => {
    const db = await migratedDatabase('drifted');
    const drifted = await databaseShape(
      db.url,
      `ALTER TABLE tenants ADD COLUMN x text;
       DROP INDEX api_keys_tenant_id_idx;
       ALTER TABLE subscribers ALTER COLUMN email SET NOT NULL;
       ALTER TABLE deliveries ALTER COLUMN attempts TYPE bigint;
       ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey,
         ADD CONSTRAINT deliveries_event_id_fkey FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE RESTRICT ON UPDATE CASCADE;
       CREATE INDEX tenants_name_idx ON tenants (name DESC);`,
    );

    expect(diffShapes(schema, drifted).sort()).toEqual(
      [
        'column tenants.x: in the database, missing from schema.prisma',
        'index on api_keys (tenant_id): in schema.prisma, missing from the database',
        'column subscribers.email: schema.prisma says text NULL, the database has text NOT NULL',
        'column deliveries.attempts: schema.prisma says integer NOT NULL with a default, the database has bigint NOT NULL with a default',
        'foreign key on deliveries (event_id) → events (id) ON DELETE CASCADE ON UPDATE CASCADE: in schema.prisma, missing from the database',
        'foreign key deliveries_event_id_fkey on deliveries (event_id) → events (id) ON DELETE RESTRICT ON UPDATE CASCADE: in the database, missing from schema.prisma',
        'index tenants_name_idx on tenants (name DESC): in the database, missing from schema.prisma',
      ].sort(),
    );
  });
});
