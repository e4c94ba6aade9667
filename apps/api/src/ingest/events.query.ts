import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { isUuid } from '@herald/core';
import { PG_POOL, PrismaService, type Prisma } from '@herald/db';
import { QueueClients, QueueName } from '@herald/queue';
import { decodeCursor, pageOf } from '../http/cursor';
import { deliveryView } from '../deliveries/delivery-view';
import { Problem } from '../http/problem';

// Only an event the fan-out has not touched: still `accepted` and without a single delivery.
const CANCEL = `
UPDATE events SET status = 'cancelled', updated_at = now()
WHERE id = $1 AND tenant_id = $2 AND status = 'accepted'
  AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $1)`;

// Removing the delayed fan-out job is a courtesy (the fan-out skips cancelled events anyway), so a
// Redis that does not answer must not hold the request.
const JOB_REMOVAL_TIMEOUT_MS = 2000;

/**
 * How many deliveries `GET /v1/events/:id` lists: a broadcast to a topic has one per member, so the
 * rest are counted by status and paged through `GET /v1/deliveries?eventId=`.
 */
export const EVENT_DELIVERIES_SHOWN = 1000;

/** Events as the api reads them (with their deliveries and every attempt), and their cancellation. */
@Injectable()
export class EventsQuery {
  private readonly logger = new Logger('events');

  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(QueueClients) private readonly queues: QueueClients,
  ) {}

  /** Events newest first, with how many deliveries each has in each status. */
  async list(
    tenantId: string,
    filter: {
      type?: string;
      status?: string;
      since?: Date;
      until?: Date;
      subscriberId?: string;
      correlationId?: string;
      cursor?: string;
      limit: number;
    },
  ) {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
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
    const rows = await this.prisma.event.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit + 1,
    });
    const { page, nextCursor } = pageOf(rows, filter.limit, (row) => row.createdAt);
    // Counted in the database: an event to 1,000 recipients must not load 1,000 rows into a listing.
    const counts = await this.prisma.delivery.groupBy({
      by: ['eventId', 'status'],
      where: { eventId: { in: page.map((e) => e.id) } },
      _count: { _all: true },
    });
    return {
      items: page.map((e) => ({
        id: e.id,
        type: e.type,
        status: e.status,
        createdAt: e.createdAt,
        sendAt: e.sendAt ?? undefined,
        correlationId: e.correlationId ?? undefined,
        recipients: (e.recipients as unknown[]).length,
        deliveries: Object.fromEntries(counts.filter((c) => c.eventId === e.id).map((c) => [c.status, c._count._all])),
      })),
      nextCursor,
    };
  }

  async get(tenantId: string, id: string) {
    const event = isUuid(id)
      ? await this.prisma.event.findFirst({
          where: { id, tenantId },
          include: {
            deliveries: {
              orderBy: [{ subscriberId: 'asc' }, { channel: 'asc' }],
              take: EVENT_DELIVERIES_SHOWN + 1,
              include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
            },
          },
        })
      : null;
    if (!event) throw Problem.notFound(`Event ${id}`);
    return {
      id: event.id,
      type: event.type,
      status: event.status,
      createdAt: event.createdAt,
      sendAt: event.sendAt ?? undefined,
      to: event.recipients,
      data: event.data,
      metadata: {
        occurredAt: event.occurredAt ?? event.createdAt,
        receivedAt: event.receivedAt ?? event.createdAt,
        correlationId: event.correlationId ?? undefined,
        schemaVersion: event.schemaVersion ?? undefined,
        sentBy: event.senderKeyId
          ? { keyId: event.senderKeyId }
          : event.senderSourceId
            ? { sourceId: event.senderSourceId }
            : undefined,
        cloudEvent: event.cloudEvent ?? undefined,
      },
      deliveries: event.deliveries.slice(0, EVENT_DELIVERIES_SHOWN).map(deliveryView),
      ...(event.deliveries.length > EVENT_DELIVERIES_SHOWN && {
        deliveriesTruncated: true,
        deliveryCounts: await this.deliveryCounts(id),
      }),
    };
  }

  private async deliveryCounts(eventId: string): Promise<Record<string, number>> {
    const counts = await this.prisma.delivery.groupBy({ by: ['status'], where: { eventId }, _count: { _all: true } });
    return Object.fromEntries(counts.map((c) => [c.status, c._count._all]));
  }

  /**
   * Cancels an event the fan-out has not yet run for (typically one with a future `sendAt`): it
   * becomes `cancelled` and nothing is sent for it. Cancelling a cancelled event answers the same;
   * an event already routed (or being routed) is a 409.
   */
  async cancel(tenantId: string, id: string) {
    if (!isUuid(id)) throw Problem.notFound(`Event ${id}`);
    const { rowCount } = await this.pool.query(CANCEL, [id, tenantId]);
    const event = await this.get(tenantId, id);
    if (event.status !== 'cancelled') {
      throw new Problem(
        409,
        'event-not-cancellable',
        'Event can no longer be cancelled',
        `Event ${id} is ${event.status}${event.deliveries.length ? ' with deliveries' : ''}: only an event whose fan-out has not run can be cancelled`,
      );
    }
    if (rowCount) await this.removeFanoutJob(id);
    return event;
  }

  private async removeFanoutJob(eventId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Redis did not answer')), JOB_REMOVAL_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.queues.get(QueueName.Fanout).remove(eventId), timeout]);
    } catch (err) {
      this.logger.warn(
        `cancelled event ${eventId}: its fan-out job stays (${(err as Error).message}) and will skip it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
