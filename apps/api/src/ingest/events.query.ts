import { Inject, Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService } from '@herald/db';
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
      deliveries: event.deliveries.map((d) => ({
        id: d.id,
        subscriberId: d.subscriberId,
        channel: d.channel,
        status: d.status,
        attempts: d.attemptsLog.map((a) => ({
          at: a.at,
          outcome: a.outcome,
          code: a.code ?? undefined,
          message: a.message ?? undefined,
        })),
        providerMessageId: d.providerMessageId ?? undefined,
        lastError: d.lastError ?? undefined,
      })),
    };
  }
}
