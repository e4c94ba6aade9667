import { Controller, Get, Inject, Param } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Problem } from '../http/problem';
import { deliveryView } from './delivery-view';

/** One delivery's whole story: attempts, and every provider signal about it with what it caused. */
@Controller('v1/deliveries')
@Auth('ingest')
export class DeliveriesController {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

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
