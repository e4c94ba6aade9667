import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES, isUuid } from '@herald/core';
import { PrismaService, type Prisma } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ApiInput } from '../docs/api-input.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { parse } from '../http/parse';
import { Problem } from '../http/problem';
import { deliveryView } from './delivery-view';

const listQuery = z.object({
  channel: z.enum(CHANNELS).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  subscriberId: z.string().min(1).max(255).optional(),
  eventId: z.string().refine(isUuid, 'must be an event id (a UUID)').optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** One delivery's whole story: attempts, and every provider signal about it with what it caused. */
@Controller('v1/deliveries')
@Auth('ingest')
export class DeliveriesController {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Deliveries newest first, filtered by channel, status, subscriber and event. */
  @Get()
  @ApiInput({ query: listQuery })
  async list(@TenantId() tenantId: string, @Query() query: unknown) {
    const input = parse(listQuery, query, 'query');
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    const where: Prisma.DeliveryWhereInput = {
      tenantId,
      ...(input.channel && { channel: input.channel }),
      ...(input.status && { status: input.status }),
      ...(input.subscriberId && { subscriberId: input.subscriberId }),
      ...(input.eventId && { eventId: input.eventId }),
      ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
    };
    const rows = await this.prisma.delivery.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: input.limit + 1,
      include: { attemptsLog: { orderBy: { attempt: 'asc' } } },
    });
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return {
      items: page.map((d) => ({
        ...deliveryView(d),
        eventId: d.eventId,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
      })),
      nextCursor,
    };
  }

  @Get(':id')
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    const delivery = isUuid(id)
      ? await this.prisma.delivery.findFirst({
          where: { id, tenantId },
          include: { attemptsLog: { orderBy: { attempt: 'asc' } }, event: { select: { type: true } } },
        })
      : null;
    if (!delivery) throw Problem.notFound(`Delivery ${id}`);
    const feedback = await this.prisma.feedbackEvent.findMany({
      where: { deliveryId: id, tenantId },
      orderBy: { createdAt: 'asc' },
    });
    const suppressionIds = feedback.flatMap((f) => (f.suppressionId ? [f.suppressionId] : []));
    const suppressions = await this.prisma.suppression.findMany({ where: { id: { in: suppressionIds }, tenantId } });
    return {
      ...deliveryView(delivery),
      eventId: delivery.eventId,
      eventType: delivery.event.type,
      createdAt: delivery.createdAt,
      updatedAt: delivery.updatedAt,
      sentAt: delivery.sentAt ?? undefined,
      feedback: feedback.map((f) => ({
        id: f.id,
        at: f.createdAt,
        source: f.source,
        kind: f.kind,
        outcome: f.outcome,
        address: f.address ?? undefined,
        payload: f.payload,
        suppression: suppressions
          .filter((s) => s.id === f.suppressionId)
          .map((s) => ({ id: s.id, channel: s.channel, address: s.address, reason: s.reason }))[0],
      })),
    };
  }
}
