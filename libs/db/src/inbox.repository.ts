import { Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import type { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

export type InboxMessageRow = Awaited<ReturnType<PrismaService['inboxMessage']['findFirstOrThrow']>>;

export type InboxStatus = 'unread' | 'read' | 'all';

/**
 * One subscriber's in-app inbox: every method takes the tenant id and the subscriber id, and every statement
 * filters on both. Archived messages leave every listing and count. (The worker writes the messages.)
 */
@Injectable()
export class InboxRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Newest first, after the cursor's (createdAt, id); one more than `limit`, so the caller knows there is more. */
  page(
    tenantId: string,
    subscriberId: string,
    opts: { after?: { at: Date; id: string }; limit: number; status: InboxStatus },
  ): Promise<InboxMessageRow[]> {
    const where: Prisma.InboxMessageWhereInput = { tenantId, subscriberId, archivedAt: null };
    if (opts.status === 'unread') where.readAt = null;
    if (opts.status === 'read') where.readAt = { not: null };
    const after = opts.after;
    if (after) where.OR = [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }];
    return this.prisma.inboxMessage.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: opts.limit + 1,
    });
  }

  unreadCount(tenantId: string, subscriberId: string): Promise<number> {
    return this.prisma.inboxMessage.count({ where: { tenantId, subscriberId, archivedAt: null, readAt: null } });
  }

  /** The message, archived or not; null when the subscriber has no such message. */
  get(tenantId: string, subscriberId: string, id: string): Promise<InboxMessageRow | null> {
    return isUuid(id)
      ? this.prisma.inboxMessage.findFirst({ where: { id, tenantId, subscriberId } })
      : Promise.resolve(null);
  }

  /** Marks the message read at `at`, and seen then unless it was seen before; the updated message. */
  markRead(
    tenantId: string,
    subscriberId: string,
    id: string,
    at: Date,
    seenAt: Date | null,
  ): Promise<InboxMessageRow> {
    return this.prisma.inboxMessage.update({
      where: { id, tenantId, subscriberId },
      data: { readAt: at, seenAt: seenAt ?? at },
    });
  }

  /** Marks every unarchived message seen (those not seen yet), then read; how many were unread. */
  async markAllRead(tenantId: string, subscriberId: string, at: Date): Promise<number> {
    await this.prisma.inboxMessage.updateMany({
      where: { tenantId, subscriberId, archivedAt: null, seenAt: null },
      data: { seenAt: at },
    });
    const { count } = await this.prisma.inboxMessage.updateMany({
      where: { tenantId, subscriberId, archivedAt: null, readAt: null },
      data: { readAt: at },
    });
    return count;
  }

  /** Archives the message; the updated message. */
  archive(tenantId: string, subscriberId: string, id: string, at: Date): Promise<InboxMessageRow> {
    return this.prisma.inboxMessage.update({ where: { id, tenantId, subscriberId }, data: { archivedAt: at } });
  }

  /**
   * What the inbox got after message `afterId`, oldest first, in the live stream's order (created_at, then id:
   * ids are hashes, not times, so time orders them; the inbox index serves it), archived ones left out; up to
   * `limit + 1`, so the caller knows when there are more. Null when `afterId` is not one of the subscriber's.
   */
  async after(
    tenantId: string,
    subscriberId: string,
    afterId: string,
    limit: number,
  ): Promise<InboxMessageRow[] | null> {
    const anchor = await this.prisma.inboxMessage.findFirst({
      where: { id: afterId, tenantId, subscriberId },
      select: { id: true, createdAt: true },
    });
    if (!anchor) return null;
    return this.prisma.inboxMessage.findMany({
      where: {
        tenantId,
        subscriberId,
        archivedAt: null,
        OR: [{ createdAt: { gt: anchor.createdAt } }, { createdAt: anchor.createdAt, id: { gt: anchor.id } }],
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
    });
  }
}
