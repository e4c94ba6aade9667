import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** The part of Prisma's DMMF the drift check reads. */
export interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  isId: boolean;
  hasDefaultValue: boolean;
  default?: unknown;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}

export interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
}

export interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string; sortOrder?: 'asc' | 'desc' }[];
  algorithm?: string;
}

export interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: unknown[]; indexes: DmmfIndex[] };
}

const repoRoot = path.resolve(__dirname, '..', '..');

/**
 * Prisma's own parse of a schema: `prisma generate` runs a tiny generator that writes the DMMF it is
 * handed. (The generated client's runtime data model lacks nullability, native types and indexes;
 * @prisma/internals is not installed.)
 */
export async function loadDmmf(schemaFile: string): Promise<Dmmf> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'herald-dmmf-'));
  try {
    const out = path.join(dir, 'dmmf.json');
    const schema = (await readFile(schemaFile, 'utf8')).replace(/^generator\s+\w+\s*\{[^}]*\}/gm, '');
    const generator = path.join(__dirname, 'dmmf-generator.js');
    const generatorBlock = `generator dmmf {\n  provider = ${JSON.stringify(`node "${generator}"`)}\n  output = ${JSON.stringify(dir)}\n}\n`;
    await writeFile(path.join(dir, 'schema.prisma'), `${schema}\n${generatorBlock}`);
    await promisify(execFile)(
      process.execPath,
      [require.resolve('prisma/build/index.js'), 'generate', '--schema', path.join(dir, 'schema.prisma')],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          DMMF_OUT: out,
          CHECKPOINT_DISABLE: '1',
          // The CLI wants a schema-engine binary even though generate never runs it, and npm here
          // does not run the install script that downloads one.
          PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
        },
      },
    );
    return JSON.parse(await readFile(out, 'utf8')) as Dmmf;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
