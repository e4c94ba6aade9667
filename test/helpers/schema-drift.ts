import type { Client } from 'pg';
import type { Dmmf, DmmfField, DmmfModel } from './prisma-dmmf';

/**
 * One side of the comparison, in Postgres terms: types as format_type() prints them, indexes and
 * foreign keys as descriptions such as `unique (tenant_id, created_at DESC)`.
 */
export type SchemaShape = Map<string, TableShape>;

export interface TableShape {
  columns: Map<string, { type: string; nullable: boolean; hasDefault: boolean }>;
  primaryKey: string[];
  /** description → index name (empty when schema.prisma does not name it) */
  indexes: Map<string, string>;
  foreignKeys: Map<string, string>;
}

const emptyTable = (): TableShape => ({
  columns: new Map(),
  primaryKey: [],
  indexes: new Map(),
  foreignKeys: new Map(),
});

// What Prisma creates for a field without @db.*, and for the @db.* attributes schema.prisma uses.
const defaultTypes: Record<string, string> = {
  String: 'text',
  Int: 'integer',
  BigInt: 'bigint',
  Boolean: 'boolean',
  Float: 'double precision',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};
const nativeTypes: Record<string, (args: string[]) => string | undefined> = {
  Uuid: () => 'uuid',
  Text: () => 'text',
  Integer: () => 'integer',
  SmallInt: () => 'smallint',
  BigInt: () => 'bigint',
  Boolean: () => 'boolean',
  JsonB: () => 'jsonb',
  Timestamptz: ([precision]) => (precision ? `timestamp(${precision}) with time zone` : undefined),
  Timestamp: ([precision]) => (precision ? `timestamp(${precision}) without time zone` : undefined),
  VarChar: ([length]) => (length ? `character varying(${length})` : undefined),
};
// Defaults Prisma Client fills in itself: the column has none.
const clientSideDefaults = new Set(['uuid', 'cuid', 'nanoid', 'ulid']);
const referentialActions: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};
const pgActions: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

function columnType(model: DmmfModel, field: DmmfField): string {
  const where = `${model.name}.${field.name}`;
  if (field.kind !== 'scalar')
    throw new Error(
      `schema drift check: ${where} is a ${field.kind} field; teach test/helpers/schema-drift.ts its type`,
    );
  const [native, args] = field.nativeType ?? [];
  const type = native ? nativeTypes[native]?.(args ?? []) : defaultTypes[field.type];
  if (!type)
    throw new Error(
      `schema drift check: no Postgres type known for ${where} (${field.type} ${native ?? ''}); add it to test/helpers/schema-drift.ts`,
    );
  return field.isList ? `${type}[]` : type;
}

function hasDatabaseDefault(field: DmmfField): boolean {
  const fn = field.default as { name?: string } | undefined;
  return field.hasDefaultValue && !clientSideDefaults.has(fn?.name ?? '');
}

const describeIndex = (unique: boolean, columns: string[], method = 'btree', where = '') =>
  `${unique ? 'unique ' : ''}${method === 'btree' ? '' : `${method} `}(${columns.join(', ')})${where ? ` WHERE ${where}` : ''}`;

const describeForeignKey = (
  columns: string[],
  refTable: string,
  refColumns: string[],
  onDelete: string,
  onUpdate: string,
) => `(${columns.join(', ')}) → ${refTable} (${refColumns.join(', ')}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`;

/** What schema.prisma declares, as Postgres should hold it after the migrations. */
export function shapeFromDmmf(dmmf: Dmmf): SchemaShape {
  const models = new Map(dmmf.datamodel.models.map((model) => [model.name, model]));
  const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
  const columnOf = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((f) => f.name === fieldName);
    if (!field) throw new Error(`schema drift check: ${model.name} has no field ${fieldName}`);
    return field.dbName ?? field.name;
  };

  const shape: SchemaShape = new Map();
  for (const model of dmmf.datamodel.models) {
    const table = emptyTable();
    shape.set(tableOf(model), table);
    for (const field of model.fields) {
      if (field.kind === 'object') {
        if (!field.relationFromFields?.length) continue;
        const target = models.get(field.type);
        if (!target)
          throw new Error(`schema drift check: ${model.name}.${field.name} points at unknown model ${field.type}`);
        const columns = field.relationFromFields.map((name) => columnOf(model, name));
        const optional = field.relationFromFields.some(
          (name) => !model.fields.find((f) => f.name === name)?.isRequired,
        );
        // Prisma's defaults when @relation names no action.
        const onDelete = referentialActions[field.relationOnDelete ?? (optional ? 'SetNull' : 'Restrict')];
        const onUpdate = referentialActions[field.relationOnUpdate ?? 'Cascade'];
        const refColumns = (field.relationToFields ?? []).map((name) => columnOf(target, name));
        table.foreignKeys.set(describeForeignKey(columns, tableOf(target), refColumns, onDelete, onUpdate), '');
        continue;
      }
      table.columns.set(field.dbName ?? field.name, {
        type: columnType(model, field),
        nullable: !field.isRequired,
        hasDefault: hasDatabaseDefault(field),
      });
    }
    const idFields = model.primaryKey?.fields ?? model.fields.filter((f) => f.isId).map((f) => f.name);
    table.primaryKey = idFields.map((name) => columnOf(model, name));
  }
  for (const index of dmmf.datamodel.indexes) {
    if (index.type === 'id') continue;
    const model = models.get(index.model)!;
    const columns = index.fields.map((f) => `${columnOf(model, f.name)}${f.sortOrder === 'desc' ? ' DESC' : ''}`);
    const description = describeIndex(index.type === 'unique', columns, index.algorithm?.toLowerCase());
    shape.get(tableOf(model))!.indexes.set(description, '');
  }
  return shape;
}

/** What the database holds, in the current schema; `ignore` names tables and indexes to leave out. */
export async function introspect(client: Client, ignore: string[] = []): Promise<SchemaShape> {
  const skip = new Set(ignore);
  const shape: SchemaShape = new Map();
  const tableShape = (name: string) => {
    if (!shape.has(name)) shape.set(name, emptyTable());
    return shape.get(name)!;
  };

  const columns = await client.query<{
    table: string;
    column: string;
    type: string;
    nullable: boolean;
    has_default: boolean;
  }>(`
    SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
           NOT a.attnotnull AS nullable, (a.atthasdef OR a.attidentity <> '') AS has_default
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY c.relname, a.attnum`);
  for (const row of columns.rows) {
    if (skip.has(row.table)) continue;
    tableShape(row.table).columns.set(row.column, {
      type: row.type,
      nullable: row.nullable,
      hasDefault: row.has_default,
    });
  }

  const indexes = await client.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    method: string;
    keys: string[];
    descending: boolean[];
    predicate: string | null;
  }>(`
    SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
           am.amname AS method,
           ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true) FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k) AS keys,
           ARRAY(SELECT (x.indoption[k] & 1) = 1 FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k) AS descending,
           pg_get_expr(x.indpred, x.indrelid) AS predicate
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    JOIN pg_am am ON am.oid = i.relam
    WHERE n.nspname = current_schema()`);
  for (const row of indexes.rows) {
    if (skip.has(row.table) || skip.has(row.name)) continue;
    if (row.primary) {
      tableShape(row.table).primaryKey = row.keys;
      continue;
    }
    const keys = row.keys.map((key, i) => (row.descending[i] ? `${key} DESC` : key));
    tableShape(row.table).indexes.set(describeIndex(row.unique, keys, row.method, row.predicate ?? ''), row.name);
  }

  const foreignKeys = await client.query<{
    table: string;
    name: string;
    ref_table: string;
    columns: string[];
    ref_columns: string[];
    on_delete: string;
    on_update: string;
  }>(`
    SELECT t.relname AS table, con.conname AS name, rt.relname AS ref_table,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
           con.confdeltype AS on_delete, con.confupdtype AS on_update
    FROM pg_constraint con
    JOIN pg_class t ON t.oid = con.conrelid
    JOIN pg_class rt ON rt.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE con.contype = 'f' AND n.nspname = current_schema()`);
  for (const row of foreignKeys.rows) {
    if (skip.has(row.table) || skip.has(row.name)) continue;
    const description = describeForeignKey(
      row.columns,
      row.ref_table,
      row.ref_columns,
      pgActions[row.on_delete],
      pgActions[row.on_update],
    );
    tableShape(row.table).foreignKeys.set(description, row.name);
  }
  return shape;
}

const describeColumn = (c: { type: string; nullable: boolean; hasDefault: boolean }) =>
  `${c.type} ${c.nullable ? 'NULL' : 'NOT NULL'}${c.hasDefault ? ' with a default' : ''}`;

/** Every difference, one readable line each; empty when the database is what schema.prisma describes. */
export function diffShapes(schema: SchemaShape, database: SchemaShape): string[] {
  const differences: string[] = [];
  const inSchemaOnly = 'in schema.prisma, missing from the database';
  const inDatabaseOnly = 'in the database, missing from schema.prisma';

  for (const [name, table] of schema) {
    const actual = database.get(name);
    if (!actual) {
      differences.push(`table ${name}: ${inSchemaOnly}`);
      continue;
    }
    for (const [column, expected] of table.columns) {
      const found = actual.columns.get(column);
      if (!found) differences.push(`column ${name}.${column}: ${inSchemaOnly}`);
      else if (describeColumn(found) !== describeColumn(expected)) {
        differences.push(
          `column ${name}.${column}: schema.prisma says ${describeColumn(expected)}, the database has ${describeColumn(found)}`,
        );
      }
    }
    for (const column of actual.columns.keys()) {
      if (!table.columns.has(column)) differences.push(`column ${name}.${column}: ${inDatabaseOnly}`);
    }
    if (table.primaryKey.join(', ') !== actual.primaryKey.join(', ')) {
      differences.push(
        `primary key of ${name}: schema.prisma says (${table.primaryKey.join(', ')}), the database has (${actual.primaryKey.join(', ')})`,
      );
    }
    for (const [kind, expected, found] of [
      ['index', table.indexes, actual.indexes],
      ['foreign key', table.foreignKeys, actual.foreignKeys],
    ] as const) {
      for (const description of expected.keys()) {
        if (!found.has(description)) differences.push(`${kind} on ${name} ${description}: ${inSchemaOnly}`);
      }
      for (const [description, dbName] of found) {
        if (!expected.has(description))
          differences.push(`${kind} ${dbName} on ${name} ${description}: ${inDatabaseOnly}`);
      }
    }
  }
  for (const name of database.keys()) {
    if (!schema.has(name)) differences.push(`table ${name}: ${inDatabaseOnly}`);
  }
  return differences;
}
