import { Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import type { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

export type DeliveryViewRow = Awaited<ReturnType<PrismaService['delivery']['findFirstOrThrow']>>;
export type DeliveryAttemptRow = Awaited<ReturnType<PrismaService['deliveryAttempt']['findFirstOrThrow']>>;
export type DeliveryFeedbackRow = Awaited<ReturnType<PrismaService['feedbackEvent']['findFirstOrThrow']>>;
type SuppressionRow = Awaited<ReturnType<PrismaService['suppression']['findFirstOrThrow']>>;

/** A delivery with every attempt, oldest first: what the api shows of one (events and deliveries alike). */
export type DeliveryWithAttempts = DeliveryViewRow & { attemptsLog: DeliveryAttemptRow[] };

/** The list's filters; absent ones do not filter. */
export interface DeliveryFilter {
  channel?: string;
  status?: string;
  subscriberId?: string;
  eventId?: string;
}

/** One delivery's whole story: attempts, its event's type, and every provider signal with what it caused. */
export interface DeliveryDetail extends DeliveryWithAttempts {
  event: { type: string };
  /** oldest first, each with the suppression it made (if it made one) */
  feedback: (DeliveryFeedbackRow & { suppression?: SuppressionRow })[];
}

const WITH_ATTEMPTS = { attemptsLog: { orderBy: { attempt: 'asc' } } } satisfies Prisma.DeliveryInclude;

/** A tenant's deliveries as the api reads them: read-only, every query filtered on the tenant. */
@Injectable()
export class DeliveryViewsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Newest first, after the cursor's (createdAt, id); one more than `limit`, so the caller knows there is more. */
  page(
    tenantId: string,
    filter: DeliveryFilter,
    after: { at: Date; id: string } | undefined,
    limit: number,
  ): Promise<DeliveryWithAttempts[]> {
    return this.prisma.delivery.findMany({
      where: {
        tenantId,
        ...(filter.channel && { channel: filter.channel }),
        ...(filter.status && { status: filter.status }),
        ...(filter.subscriberId && { subscriberId: filter.subscriberId }),
        ...(filter.eventId && { eventId: filter.eventId }),
        ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
      include: WITH_ATTEMPTS,
    });
  }

  /** The delivery with its attempts and feedback; null for an id that is not one of the tenant's (or not an id). */
  async detail(tenantId: string, id: string): Promise<DeliveryDetail | null> {
    if (!isUuid(id)) return null;
    const delivery = await this.prisma.delivery.findFirst({
      where: { id, tenantId },
      include: { ...WITH_ATTEMPTS, event: { select: { type: true } } },
    });
    if (!delivery) return null;
    const feedback = await this.prisma.feedbackEvent.findMany({
      where: { deliveryId: id, tenantId },
      orderBy: { createdAt: 'asc' },
    });
    const suppressionIds = feedback.flatMap((f) => (f.suppressionId ? [f.suppressionId] : []));
    const suppressions = await this.prisma.suppression.findMany({ where: { id: { in: suppressionIds }, tenantId } });
    return {
      ...delivery,
      feedback: feedback.map((f) => ({ ...f, suppression: suppressions.find((s) => s.id === f.suppressionId) })),
    };
  }
}
