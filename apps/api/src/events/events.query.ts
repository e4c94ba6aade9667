import { Inject, Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService, type Prisma } from '@herald/db';
import { decodeCursor, pageOf } from '../http/cursor';
import { deliveryView } from '../deliveries/delivery-view';
import { Problem } from '../http/problem';

/**
 * How many deliveries `GET /v1/events/:id` lists: a broadcast to a topic has one per member, so the
 * rest are counted by status and paged through `GET /v1/deliveries?eventId=`.
 */
export const EVENT_DELIVERIES_SHOWN = 1000;

/** Events as the api reads them (with their deliveries and every attempt). Reads only. */
@Injectable()
export class EventsQuery {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

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
}
