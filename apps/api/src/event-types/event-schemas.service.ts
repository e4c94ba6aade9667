import { Injectable } from '@nestjs/common';
import type { ValidateFunction } from 'ajv';
import { LRUCache } from 'lru-cache';
import { sameJson, schemaIncompatibilities, type JsonSchema } from '@herald/core';
import { EventSchemasRepository } from '@herald/db';
import { Problem } from '../http/problem';
import { compileSchema, releaseSchema } from './json-schema';

/**
 * How long an api process trusts what it read about an event type's newest schema version. Published
 * versions never change, so only "which is newest" can go stale: another api process sees a newly
 * published version within this time (the one that published it, at once).
 */
const NEWEST_TTL_MS = 2000;
/** Compiled validators, and newest versions, kept per process (the least recently used go beyond this). */
const MAX_CACHED = 1000;

export interface SchemaCheck {
  version: number;
  validate: ValidateFunction;
}

interface SchemaRow {
  version: number;
  schema: unknown;
}

export type PublishOutcome = { created: boolean; schema: ReturnType<typeof schemaView> };

/** The schema an event's data must match: none (its type has none), one, or a version that does not exist. */
export type SchemaFor = null | SchemaCheck | { missing: number };

/**
 * The schema registry: versions of the JSON Schema an event type's `data` must match. Published
 * versions are immutable and each must be backward compatible with the one before it, so a sender
 * still on an older version keeps being accepted.
 */
@Injectable()
export class EventSchemas {
  /** by tenant × type × version; a version found missing is remembered for NEWEST_TTL_MS */
  private readonly compiled = new LRUCache<string, SchemaCheck | 'missing'>({
    max: MAX_CACHED,
    dispose: (check) => check !== 'missing' && releaseSchema(check.validate.schema as object),
  });
  /** by tenant × type: its newest version, null when it has none */
  private readonly newest = new LRUCache<string, { version: number | null }>({ max: MAX_CACHED, ttl: NEWEST_TTL_MS });

  constructor(private readonly repository: EventSchemasRepository) {}

  /** Publishes `version`; 201 when new, 200 when the same schema is published again, 409/422 otherwise. */
  async publish(tenantId: string, type: string, version: number, schema: unknown): Promise<PublishOutcome> {
    const compiled = compileSchema(schema);
    if (!compiled.ok) {
      throw Problem.unprocessable('invalid-schema', 'The body is not a usable JSON Schema', compiled.errors);
    }
    releaseSchema(schema as object);
    // One publisher per event type at a time: each new version is checked against the newest one.
    const outcome = await this.repository.publishing(tenantId, type, async (versions) => {
      const latest = await versions.newest();
      if (latest && latest.version === version) {
        if (sameJson(latest.schema, schema)) return { created: false, row: latest };
        throw conflict(
          'schema-version-exists',
          `Version ${version} of ${type} is published already and cannot change; publish it as version ${latest.version + 1}`,
        );
      }
      if (latest && latest.version > version) {
        const existing = await versions.get(version);
        if (existing && sameJson(existing.schema, schema)) return { created: false, row: existing };
        throw conflict(
          existing ? 'schema-version-exists' : 'schema-version-out-of-order',
          `The newest version of ${type} is ${latest.version}: publish changes as version ${latest.version + 1} or later`,
        );
      }
      if (latest) {
        const incompatibilities = schemaIncompatibilities(latest.schema as JsonSchema, schema as JsonSchema);
        if (incompatibilities.length) {
          throw new Problem(
            409,
            'schema-incompatible',
            'Not backward compatible',
            `Version ${version} of ${type} is not backward compatible with version ${latest.version}: ` +
              'only optional properties may be added (none removed, retyped or made required)',
            incompatibilities.map(({ path, change, message }) => ({ path: path || '/', change, message })),
            { extensions: { previousVersion: latest.version } },
          );
        }
      }
      const row = await versions.create(version, schema);
      return { created: true, row };
    });
    if (outcome.created)
      this.newest.set(cacheKey(tenantId, type), { version: Math.max(version, this.newestOf(tenantId, type) ?? 0) });
    return { created: outcome.created, schema: schemaView(outcome.row) };
  }

  async list(tenantId: string, type: string) {
    const rows = await this.repository.list(tenantId, type);
    if (!rows.length) throw Problem.notFound(`Event type ${type} with a schema`);
    return { type, latestVersion: rows[rows.length - 1]!.version, versions: rows.map(schemaView) };
  }

  async get(tenantId: string, type: string, version: number) {
    const row = await this.repository.get(tenantId, type, version);
    if (!row) throw Problem.notFound(`Version ${version} of the schema of ${type}`);
    return schemaView(row);
  }

  /** Every event type of the tenant that has a schema, with its newest version. */
  async types(tenantId: string) {
    return { items: await this.repository.types(tenantId) };
  }

  /** The schema each event must match: the version it names, else its type's newest. */
  async checksFor(events: { tenantId: string; type: string; version?: number }[]): Promise<SchemaFor[]> {
    await this.refreshNewest(events.filter((e) => e.version === undefined));
    // One look-up per distinct version, however many events of a batch name it.
    const lookups = new Map<string, Promise<SchemaCheck | 'missing'>>();
    return Promise.all(
      events.map(async ({ tenantId, type, version }) => {
        const wanted = version ?? this.newestOf(tenantId, type);
        if (wanted === null || wanted === undefined) return null;
        const key = cacheKey(tenantId, type, wanted);
        if (!lookups.has(key)) lookups.set(key, this.compiledVersion(tenantId, type, wanted));
        const check = await lookups.get(key)!;
        return check === 'missing' ? { missing: wanted } : check;
      }),
    );
  }

  private newestOf(tenantId: string, type: string): number | null | undefined {
    return this.newest.get(cacheKey(tenantId, type))?.version;
  }

  private async refreshNewest(events: { tenantId: string; type: string }[]): Promise<void> {
    const stale = new Map<string, { tenantId: string; type: string }>();
    for (const e of events) {
      const key = cacheKey(e.tenantId, e.type);
      if (!this.newest.has(key)) stale.set(key, e);
    }
    if (!stale.size) return;
    // The newest version of each (tenant, type) asked about, in one round trip for a whole batch.
    const rows = await this.repository.newest([...stale.values()]);
    const found = new Map(rows.map((row) => [cacheKey(row.tenantId, row.type), row]));
    for (const [key, { tenantId, type }] of stale) {
      const row = found.get(key);
      if (row) this.remember(tenantId, type, row);
      // Versions only ever grow: a read that started before a publish here must not hide it.
      const known = this.newest.get(key)?.version ?? null;
      this.newest.set(key, { version: Math.max(row?.version ?? 0, known ?? 0) || null });
    }
  }

  private async compiledVersion(tenantId: string, type: string, version: number): Promise<SchemaCheck | 'missing'> {
    const hit = this.compiled.get(cacheKey(tenantId, type, version));
    if (hit) return hit;
    const row = await this.repository.get(tenantId, type, version);
    if (row) return this.remember(tenantId, type, row);
    this.compiled.set(cacheKey(tenantId, type, version), 'missing', { ttl: NEWEST_TTL_MS });
    return 'missing';
  }

  private remember(tenantId: string, type: string, row: SchemaRow): SchemaCheck | 'missing' {
    const key = cacheKey(tenantId, type, row.version);
    const known = this.compiled.get(key);
    if (known && known !== 'missing') return known;
    const compiled = compileSchema(row.schema);
    // Only valid schemas are stored; one that no longer compiles (a newer ajv) is answered as missing.
    const check = compiled.ok ? { version: row.version, validate: compiled.validate } : 'missing';
    this.compiled.set(key, check);
    return check;
  }
}

function cacheKey(tenantId: string, type: string, version?: number): string {
  return `${tenantId}\u0000${type}\u0000${version ?? ''}`;
}

function schemaView(row: { eventType: string; version: number; schema: unknown; createdAt: Date }) {
  return { type: row.eventType, version: row.version, schema: row.schema, createdAt: row.createdAt };
}

function conflict(slug: string, detail: string): Problem {
  return new Problem(409, slug, 'Conflict', detail);
}
