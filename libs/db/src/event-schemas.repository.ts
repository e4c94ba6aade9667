import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Prisma } from './generated/prisma/client';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';

/** A published version of an event type's schema. */
export interface EventSchemaRow {
  eventType: string;
  version: number;
  schema: unknown;
  createdAt: Date;
}

/** An event type's newest version, as ingest asks for it. */
export interface NewestSchema {
  tenantId: string;
  type: string;
  version: number;
  schema: unknown;
}

/** The reads and the write of one publish, inside its transaction and under the event type's lock. */
export interface SchemaPublishing {
  /** the type's newest version, or null when it has none */
  newest(): Promise<EventSchemaRow | null>;
  /** one version of the type, or null */
  get(version: number): Promise<EventSchemaRow | null>;
  create(version: number, schema: unknown): Promise<EventSchemaRow>;
}

// The newest version of each (tenant, type) asked about, in one round trip for a whole batch; each
// pair is matched on its own tenant.
const NEWEST = `
SELECT DISTINCT ON (s.tenant_id, s.event_type) s.tenant_id AS "tenantId", s.event_type AS "type", s.version, s.schema
FROM event_schemas s JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, event_type)
  ON s.tenant_id = k.tenant_id AND s.event_type = k.event_type
ORDER BY s.tenant_id, s.event_type, s.version DESC`;

// Raw SQL: ingest asks for a version it has not compiled yet on its hot path.
const ONE_VERSION = `
SELECT event_type AS "eventType", version, schema, created_at AS "createdAt"
FROM event_schemas WHERE tenant_id = $1 AND event_type = $2 AND version = $3`;

/** A tenant's event schema registry: the published versions of each event type's JSON Schema. */
@Injectable()
export class EventSchemasRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /**
   * Runs `work` in one transaction holding the event type's advisory lock: one publisher per event type at a
   * time, so each new version is checked against the newest one. What `work` throws rolls it back.
   */
  publishing<T>(tenantId: string, type: string, work: (versions: SchemaPublishing) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`${tenantId}/${type}`}, 0))`;
      return work({
        newest: () => tx.eventSchema.findFirst({ where: { tenantId, eventType: type }, orderBy: { version: 'desc' } }),
        get: (version) =>
          tx.eventSchema.findUnique({ where: { tenantId_eventType_version: { tenantId, eventType: type, version } } }),
        create: (version, schema) =>
          tx.eventSchema.create({
            data: { tenantId, eventType: type, version, schema: schema as Prisma.InputJsonValue },
          }),
      });
    });
  }

  /** Every version of the type, oldest first. */
  list(tenantId: string, type: string): Promise<EventSchemaRow[]> {
    return this.prisma.eventSchema.findMany({ where: { tenantId, eventType: type }, orderBy: { version: 'asc' } });
  }

  /** One version of the type, or null; one round trip (ingest's path too). */
  async get(tenantId: string, type: string, version: number): Promise<EventSchemaRow | null> {
    const { rows } = await this.pool.query<EventSchemaRow>(ONE_VERSION, [tenantId, type, version]);
    return rows[0] ?? null;
  }

  /** Every event type of the tenant that has a schema, with its newest version and how many it has. */
  async types(tenantId: string): Promise<{ type: string; latestVersion: number | null; versions: number }[]> {
    const rows = await this.prisma.eventSchema.groupBy({
      by: ['eventType'],
      where: { tenantId },
      _max: { version: true },
      _count: { _all: true },
      orderBy: { eventType: 'asc' },
    });
    return rows.map((r) => ({ type: r.eventType, latestVersion: r._max.version, versions: r._count._all }));
  }

  /**
   * The newest version of each (tenant, type) pair that has one, each looked up under its own tenant: a batch
   * of events in one round trip.
   */
  async newest(keys: { tenantId: string; type: string }[]): Promise<NewestSchema[]> {
    if (!keys.length) return [];
    const { rows } = await this.pool.query<NewestSchema>(NEWEST, [
      keys.map((k) => k.tenantId),
      keys.map((k) => k.type),
    ]);
    return rows;
  }
}
