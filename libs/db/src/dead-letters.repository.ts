import { Injectable } from '@nestjs/common';
import type { Channel } from '@herald/core';
import type { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

/** What narrows the dead-letter list: a channel, an event type. */
export interface DeadLetterListFilter {
  channel?: Channel;
  eventType?: string;
}

/** A listed dead letter, with its event's type and its last attempt. */
export type DeadLetterRow = Prisma.DeliveryGetPayload<{
  include: { event: { select: { type: true } }; attemptsLog: true };
}>;

/**
 * The dead-letter queue as operators read it: a tenant's deliveries in status `dead`. Its changes (replay,
 * purge) are DeliveriesRepository's, the one writer of a delivery's status.
 */
@Injectable()
export class DeadLettersRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Newest death first, after the cursor's (updatedAt, id), each with its last attempt; one more than `limit`,
   * so the caller knows there is more.
   */
  page(
    tenantId: string,
    filter: DeadLetterListFilter,
    after: { at: Date; id: string } | undefined,
    limit: number,
  ): Promise<DeadLetterRow[]> {
    const where: Prisma.DeliveryWhereInput = {
      tenantId,
      status: 'dead',
      ...(filter.channel && { channel: filter.channel }),
      ...(filter.eventType && { event: { type: filter.eventType } }),
      ...(after && { OR: [{ updatedAt: { lt: after.at } }, { updatedAt: after.at, id: { lt: after.id } }] }),
    };
    return this.prisma.delivery.findMany({
      where,
      orderBy: [{ updatedAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      include: { event: { select: { type: true } }, attemptsLog: { orderBy: { attempt: 'desc' }, take: 1 } },
    });
  }

  /** The status of one of the tenant's deliveries (to say why a replay or purge did nothing); null when none. */
  async statusOf(tenantId: string, deliveryId: string): Promise<string | null> {
    const row = await this.prisma.delivery.findFirst({ where: { tenantId, id: deliveryId }, select: { status: true } });
    return row?.status ?? null;
  }
}
