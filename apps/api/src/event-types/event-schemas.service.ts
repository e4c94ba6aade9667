import { Inject, Injectable } from '@nestjs/common';
import type { ValidateFunction } from 'ajv';
import type { Pool } from 'pg';
import { schemaIncompatibilities, type JsonSchema } from '@herald/core';
import { PG_POOL, PrismaService, type Prisma } from '@herald/db';
import { Problem } from '../http/problem';
import { compileSchema, releaseSchema } from './json-schema';

/**
 * How long an api process trusts what it read about an event type's newest schema version. Published
 * versions never change, so only "which is newest" can go stale: another api process sees a newly
 * published version within this time (the one that published it, at once).
 */
const NEWEST_TTL_MS = 2000;
/** Compiled validators kept per process (least recently used ones are dropped beyond this). */
const MAX_COMPILED = 1000;

export interface SchemaCheck {
  version: number;
  validate: ValidateFunction;
}

interface SchemaRow {
  version: number;
  schema: object;
}

// The newest version of each (tenant, type) asked about, in one round trip for a whole batch.
const NEWEST = `
SELECT DISTINCT ON (s.tenant_id, s.event_type) s.tenant_id AS "tenantId", s.event_type AS "type", s.version, s.schema
FROM event_schemas s JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, event_type)
  ON s.tenant_id = k.tenant_id AND s.event_type = k.event_type
ORDER BY s.tenant_id, s.event_type, s.version DESC`;
const ONE_VERSION = `SELECT version, schema FROM event_schemas WHERE tenant_id = $1 AND event_type = $2 AND version = $3`;

export type PublishOutcome = { created: boolean; schema: ReturnType<typeof schemaView> };

/**
 * The schema registry: versions of the JSON Schema an event type's `data` must match. Published
 * versions are immutable and each must be backward compatible with the one before it, so a sender
 * still on an older version keeps being accepted.
 */
@Injectable()
export class EventSchemas {
  private readonly compiled = new Map<string, SchemaCheck>();
  private readonly newest = new Map<string, { version: number | null; until: number }>();

  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /** Publishes `version`; 201 when new, 200 when the same schema is published again, 409/422 otherwise. */
  async publish(tenantId: string, type: string, version: number, schema: unknown): Promise<PublishOutcome> {
    const compiled = compileSchema(schema);
    if (!compiled.ok) {
      throw Problem.unprocessable('invalid-schema', 'The body is not a usable JSON Schema', compiled.errors);
    }
    releaseSchema(schema as object);
    const outcome = await this.prisma.$transaction(async (tx) => {
      // One publisher per event type at a time: each new version is checked against the newest one.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${tenantId}/${type}`}, 0))`;
      const latest = await tx.eventSchema.findFirst({
        where: { tenantId, eventType: type },
        orderBy: { version: 'desc' },
      });
      if (latest && latest.version === version) {
        if (sameJson(latest.schema, schema)) return { created: false, row: latest };
        throw conflict(
          'schema-version-exists',
          `Version ${version} of ${type} is published already and cannot change; publish it as version ${latest.version + 1}`,
        );
      }
      if (latest && latest.version > version) {
        const existing = await tx.eventSchema.findUnique({
          where: { tenantId_eventType_version: { tenantId, eventType: type, version } },
        });
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
            incompatibilities.map((i) => ({ path: i.path || '/', message: `${i.change}: ${i.message}` })),
            {},
            { previousVersion: latest.version, incompatibilities },
          );
        }
      }
      const row = await tx.eventSchema.create({
        data: { tenantId, eventType: type, version, schema: schema as Prisma.InputJsonValue },
      });
      return { created: true, row };
    });
    if (outcome.created) this.newest.delete(cacheKey(tenantId, type));
    return { created: outcome.created, schema: schemaView(outcome.row) };
  }

  async list(tenantId: string, type: string) {
    const rows = await this.prisma.eventSchema.findMany({
      where: { tenantId, eventType: type },
      orderBy: { version: 'asc' },
    });
    if (!rows.length) throw Problem.notFound(`Event type ${type} with a schema`);
    return { type, latestVersion: rows[rows.length - 1]!.version, versions: rows.map(schemaView) };
  }

  async get(tenantId: string, type: string, version: number) {
    const row = await this.prisma.eventSchema.findUnique({
      where: { tenantId_eventType_version: { tenantId, eventType: type, version } },
    });
    if (!row) throw Problem.notFound(`Version ${version} of the schema of ${type}`);
    return schemaView(row);
  }

  /** Every event type of the tenant that has a schema, with its newest version. */
  async types(tenantId: string) {
    const rows = await this.prisma.eventSchema.groupBy({
      by: ['eventType'],
      where: { tenantId },
      _max: { version: true },
      _count: { _all: true },
      orderBy: { eventType: 'asc' },
    });
    return {
      items: rows.map((r) => ({ type: r.eventType, latestVersion: r._max.version, versions: r._count._all })),
    };
  }

  /**
   * The schema each event must match: the version it names, else its type's newest; null when the
   * type has no schema. A named version that does not exist is `missing`.
   */
  async checksFor(
    events: { tenantId: string; type: string; version?: number }[],
  ): Promise<(SchemaCheck | null | 'missing')[]> {
    await this.refreshNewest(events.filter((e) => e.version === undefined));
    return Promise.all(
      events.map(async ({ tenantId, type, version }) => {
        const wanted = version ?? this.newest.get(cacheKey(tenantId, type))?.version ?? null;
        if (wanted === null) return version === undefined ? null : 'missing';
        return (await this.compiledVersion(tenantId, type, wanted)) ?? 'missing';
      }),
    );
  }

  private async refreshNewest(events: { tenantId: string; type: string }[]): Promise<void> {
    const now = Date.now();
    const stale = new Map<string, { tenantId: string; type: string }>();
    for (const e of events) {
      const key = cacheKey(e.tenantId, e.type);
      if ((this.newest.get(key)?.until ?? 0) <= now) stale.set(key, e);
    }
    if (!stale.size) return;
    const asked = [...stale.values()];
    const { rows } = await this.pool.query<{ tenantId: string; type: string } & SchemaRow>(NEWEST, [
      asked.map((e) => e.tenantId),
      asked.map((e) => e.type),
    ]);
    for (const key of stale.keys()) this.newest.set(key, { version: null, until: now + NEWEST_TTL_MS });
    for (const row of rows) {
      this.newest.set(cacheKey(row.tenantId, row.type), { version: row.version, until: now + NEWEST_TTL_MS });
      this.remember(row.tenantId, row.type, row);
    }
  }

  private async compiledVersion(tenantId: string, type: string, version: number): Promise<SchemaCheck | null> {
    const key = cacheKey(tenantId, type, version);
    const hit = this.compiled.get(key);
    if (hit) {
      // Re-inserted: a Map iterates in insertion order, so the first key is the least recently used.
      this.compiled.delete(key);
      this.compiled.set(key, hit);
      return hit;
    }
    const { rows } = await this.pool.query<SchemaRow>(ONE_VERSION, [tenantId, type, version]);
    return rows[0] ? this.remember(tenantId, type, rows[0]) : null;
  }

  private remember(tenantId: string, type: string, row: SchemaRow): SchemaCheck | null {
    const key = cacheKey(tenantId, type, row.version);
    const known = this.compiled.get(key);
    if (known) return known;
    const compiled = compileSchema(row.schema);
    if (!compiled.ok) return null; // only valid schemas are ever stored
    const check = { version: row.version, validate: compiled.validate };
    this.compiled.set(key, check);
    if (this.compiled.size > MAX_COMPILED) {
      const [oldest, evicted] = this.compiled.entries().next().value!;
      this.compiled.delete(oldest);
      releaseSchema(evicted.validate.schema as object);
    }
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

/** Key order does not matter in JSON objects (Postgres jsonb does not keep it either). */
function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}
