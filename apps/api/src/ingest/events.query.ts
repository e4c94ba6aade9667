import { Inject, Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService, type Prisma } from '@herald/db';
import { decodeCursor, pageOf } from '../http/cursor';
import { deliveryView } from '../deliveries/delivery-view';
import { Problem } from '../http/problem';

/** Read side of events: an event with its deliveries and every attempt. */
@Injectable()
export class EventsQuery {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Events newest first, with how many deliveries each has in each status. */
  async list(
    tenantId: string,
    filter: { type?: string; status?: string; since?: Date; cursor?: string; limit: number },
  ) {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const where: Prisma.EventWhereInput = {
      tenantId,
      ...(filter.type && { type: filter.type }),
      ...(filter.status && { status: filter.status }),
      ...(filter.since && { createdAt: { gte: filter.since } }),
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
      deliveries: event.deliveries.map(deliveryView),
    };
  }
}
