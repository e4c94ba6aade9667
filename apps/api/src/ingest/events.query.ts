import { Inject, Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService } from '@herald/db';
import { deliveryView } from '../deliveries/delivery-view';
import { Problem } from '../http/problem';

/** Read side of events: an event with its deliveries and every attempt. */
@Injectable()
export class EventsQuery {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

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
