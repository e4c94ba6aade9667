import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { Prisma } from './generated/prisma/client';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';

export type EventRow = Awaited<ReturnType<PrismaService['event']['findFirstOrThrow']>>;

/** An event as ingest writes it, with its own tenant: a group commit mixes the rows of many requests. */
export interface EventInsert {
  id: string;
  tenantId: string;
  type: string;
  /** JSON text */
  recipients: string;
  /** JSON text */
  data: string;
  idempotencyKey: string | null;
  requestHash: string | null;
  sendAt: string | null;
  /** the ingest span's W3C traceparent: the relay continues the trace from it */
  traceParent: string | null;
  occurredAt: string;
  receivedAt: string;
  correlationId: string;
  schemaVersion: number | null;
  senderKeyId: string | null;
  senderSourceId: string | null;
  /** JSON text */
  cloudEvent: string | null;
}

/** A (tenant, idempotency key) pair and the event that holds it. */
export interface KeyedEvent {
  id: string;
  tenantId: string;
  idempotencyKey: string;
  requestHash: string | null;
}

/** What GET /v1/events filters on (besides the tenant and the cursor). */
export interface EventFilter {
  type?: string;
  status?: string;
  since?: Date;
  until?: Date;
  subscriberId?: string;
  correlationId?: string;
}

// One statement, so one transaction: the events and their outbox rows are durable together, and
// the outbox trigger NOTIFYs the relays on commit. Raw SQL because this is the ingest hot path:
// a Prisma $transaction per event costs ~4x more round trips (docs/benchmarks.md).
const INSERT_EVENTS = `
WITH input AS (
  SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::jsonb[], $5::jsonb[], $6::text[], $7::text[],
    $8::timestamptz[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::int[], $14::uuid[],
    $15::uuid[], $16::jsonb[])
    AS t(id, tenant_id, type, recipients, data, idempotency_key, request_hash, send_at, trace_parent, occurred_at,
      received_at, correlation_id, schema_version, sender_key_id, sender_source_id, cloud_event)
), inserted AS (
  INSERT INTO events (id, tenant_id, type, recipients, data, idempotency_key, request_hash, send_at, trace_parent,
    occurred_at, received_at, correlation_id, schema_version, sender_key_id, sender_source_id, cloud_event)
  SELECT * FROM input
  ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
  RETURNING id, tenant_id
), outboxed AS (
  INSERT INTO outbox (event_id, tenant_id) SELECT id, tenant_id FROM inserted
)
SELECT id FROM inserted`;

// Each key is matched together with its own tenant: no tenant's key finds another tenant's event.
const FIND_BY_KEYS = `
SELECT e.id, e.tenant_id AS "tenantId", e.idempotency_key AS "idempotencyKey", e.request_hash AS "requestHash"
FROM events e JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, key)
  ON e.tenant_id = k.tenant_id AND e.idempotency_key = k.key`;

// The keys among these that name one of the tenant's topics (a topic exists from its first
// `PUT /v1/topics/:key/subscribers` until it is deleted, members or not).
const EXISTING_TOPICS = `
SELECT t.tenant_id AS "tenantId", t.key FROM topics t
JOIN unnest($1::uuid[], $2::text[]) AS k(tenant_id, key) ON t.tenant_id = k.tenant_id AND t.key = k.key`;

// Only an event the fan-out has not touched: still `accepted` and without a single delivery.
const CANCEL = `
UPDATE events SET status = 'cancelled', updated_at = now()
WHERE id = $1 AND tenant_id = $2 AND status = 'accepted'
  AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $1)`;

/**
 * Events: ingest's writes (raw SQL, the hot path) and the api's reads of a tenant's events and their
 * deliveries. The batch statements of ingest take (tenant, key) pairs, each matched on its own tenant.
 */
@Injectable()
export class EventsRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /**
   * System: spans tenants. Writes one group commit (rows of concurrent requests, of any tenants, each row
   * with its own tenant id) and their outbox rows in one statement; per row, in the order given, whether it
   * was inserted (false: its tenant already has an event with its idempotency key).
   */
  async insertMany(rows: EventInsert[]): Promise<boolean[]> {
    // Keyed rows in key order so two concurrent groups cannot deadlock on the unique index.
    const ordered = [...rows].sort((a, b) =>
      compare(a.tenantId + (a.idempotencyKey ?? ''), b.tenantId + (b.idempotencyKey ?? '')),
    );
    const columns = (k: keyof EventInsert) => ordered.map((r) => r[k]);
    const result = await this.pool.query<{ id: string }>(INSERT_EVENTS, [
      columns('id'),
      columns('tenantId'),
      columns('type'),
      columns('recipients'),
      columns('data'),
      columns('idempotencyKey'),
      columns('requestHash'),
      columns('sendAt'),
      columns('traceParent'),
      columns('occurredAt'),
      columns('receivedAt'),
      columns('correlationId'),
      columns('schemaVersion'),
      columns('senderKeyId'),
      columns('senderSourceId'),
      columns('cloudEvent'),
    ]);
    const ids = new Set(result.rows.map((r) => r.id));
    return rows.map((r) => ids.has(r.id));
  }

  /** The events holding these idempotency keys, each key looked up under its own tenant; one round trip. */
  async findByKeys(keys: { tenantId: string; idempotencyKey: string }[]): Promise<KeyedEvent[]> {
    if (!keys.length) return [];
    const { rows } = await this.pool.query<KeyedEvent>(FIND_BY_KEYS, [
      keys.map((k) => k.tenantId),
      keys.map((k) => k.idempotencyKey),
    ]);
    return rows;
  }

  /** Which of these topic keys exist, each looked up under its own tenant; one round trip (none for no keys). */
  async existingTopics(keys: { tenantId: string; key: string }[]): Promise<{ tenantId: string; key: string }[]> {
    if (!keys.length) return [];
    const { rows } = await this.pool.query<{ tenantId: string; key: string }>(EXISTING_TOPICS, [
      keys.map((k) => k.tenantId),
      keys.map((k) => k.key),
    ]);
    return rows;
  }

  /** The tenant's event, or null. */
  find(tenantId: string, id: string): Promise<EventRow | null> {
    return this.prisma.event.findFirst({ where: { id, tenantId } });
  }

  /** Newest first, after the cursor's (createdAt, id); one more than `limit`, so the caller knows there is more. */
  page(
    tenantId: string,
    filter: EventFilter,
    after: { at: Date; id: string } | undefined,
    limit: number,
  ): Promise<EventRow[]> {
    const where: Prisma.EventWhereInput = {
      tenantId,
      ...(filter.type && { type: filter.type }),
      ...(filter.status && { status: filter.status }),
      ...((filter.since || filter.until) && { createdAt: { gte: filter.since, lt: filter.until } }),
      ...(filter.correlationId && { correlationId: filter.correlationId }),
      // Named in `to`, or reached (through a topic, say): either way the subscriber has a delivery or an entry.
      ...(filter.subscriberId && {
        AND: [
          {
            OR: [
              { recipients: { array_contains: [{ subscriberId: filter.subscriberId }] } },
              { deliveries: { some: { subscriberId: filter.subscriberId } } },
            ],
          },
        ],
      }),
      ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
    };
    return this.prisma.event.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: limit + 1 });
  }

  /**
   * The tenant's event with its first `deliveries` deliveries (by subscriber, then channel) and every attempt
   * of each, or null.
   */
  withDeliveries(tenantId: string, id: string, deliveries: number) {
    return this.prisma.event.findFirst({
      where: { id, tenantId },
      include: {
        deliveries: {
          orderBy: [{ subscriberId: 'asc' }, { channel: 'asc' }],
          take: deliveries,
          include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
        },
      },
    });
  }

  /**
   * How many deliveries each of the tenant's events has in each status: counted in the database, so an event
   * to 1,000 recipients does not load 1,000 rows into a listing.
   */
  async deliveryCountsByEvent(
    tenantId: string,
    eventIds: string[],
  ): Promise<{ eventId: string; status: string; count: number }[]> {
    const counts = await this.prisma.delivery.groupBy({
      by: ['eventId', 'status'],
      where: { tenantId, eventId: { in: eventIds } },
      _count: { _all: true },
    });
    return counts.map((c) => ({ eventId: c.eventId, status: c.status, count: c._count._all }));
  }

  /** How many deliveries the tenant's event has in each status. */
  async deliveryCounts(tenantId: string, eventId: string): Promise<Record<string, number>> {
    const counts = await this.prisma.delivery.groupBy({
      by: ['status'],
      where: { tenantId, eventId },
      _count: { _all: true },
    });
    return Object.fromEntries(counts.map((c) => [c.status, c._count._all]));
  }

  /**
   * Cancels the tenant's event if its fan-out has not run (the one write to an event's status outside the
   * fan-out); false when it changed nothing (gone, routed, cancelled).
   */
  async cancel(tenantId: string, eventId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(CANCEL, [eventId, tenantId]);
    return !!rowCount;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
