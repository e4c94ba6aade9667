import { Inject, Injectable } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { PrismaService, type Prisma } from '@herald/db';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';

export interface InboxOwner {
  tenantId: string;
  subscriberId: string;
}

type MessageRow = Awaited<ReturnType<PrismaService['inboxMessage']['findFirstOrThrow']>>;

/** One subscriber's in-app inbox. Archived messages leave every listing and count. */
@Injectable()
export class InboxService {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  async list(owner: InboxOwner, opts: { cursor?: string; limit: number; status: 'unread' | 'read' | 'all' }) {
    const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
    const where: Prisma.InboxMessageWhereInput = { ...owner, archivedAt: null };
    if (opts.status === 'unread') where.readAt = null;
    if (opts.status === 'read') where.readAt = { not: null };
    if (after) where.OR = [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }];
    const rows = await this.prisma.inboxMessage.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: opts.limit + 1,
    });
    const { page, nextCursor } = pageOf(rows, opts.limit, (row) => row.createdAt);
    return {
      items: page.map(inboxItem),
      nextCursor,
    };
  }

  async unreadCount(owner: InboxOwner): Promise<{ count: number }> {
    return { count: await this.prisma.inboxMessage.count({ where: { ...owner, archivedAt: null, readAt: null } }) };
  }

  async markRead(owner: InboxOwner, id: string) {
    const message = await this.find(owner, id);
    if (message.readAt) return inboxItem(message);
    const now = new Date();
    return inboxItem(
      await this.prisma.inboxMessage.update({
        where: { id: message.id },
        data: { readAt: now, seenAt: message.seenAt ?? now },
      }),
    );
  }

  async markAllRead(owner: InboxOwner): Promise<{ updated: number }> {
    const now = new Date();
    await this.prisma.inboxMessage.updateMany({
      where: { ...owner, archivedAt: null, seenAt: null },
      data: { seenAt: now },
    });
    const { count } = await this.prisma.inboxMessage.updateMany({
      where: { ...owner, archivedAt: null, readAt: null },
      data: { readAt: now },
    });
    return { updated: count };
  }

  async archive(owner: InboxOwner, id: string) {
    const message = await this.find(owner, id);
    if (message.archivedAt) return inboxItem(message);
    return inboxItem(
      await this.prisma.inboxMessage.update({ where: { id: message.id }, data: { archivedAt: new Date() } }),
    );
  }

  /**
   * What the subscriber's inbox got after message `afterId`, oldest first, in the live stream's order
   * (created_at, then id: ids are hashes, not times, so time orders them; the inbox index serves it).
   * Archived messages are left out, as from the list. `null` when `afterId` is not one of the
   * subscriber's messages; `overflow` when more than `limit` came after it (none are returned then).
   */
  async after(
    owner: InboxOwner,
    afterId: string,
    limit: number,
  ): Promise<{ items: ReturnType<typeof inboxItem>[]; overflow: boolean } | null> {
    const anchor = await this.prisma.inboxMessage.findFirst({
      where: { id: afterId, ...owner },
      select: { id: true, createdAt: true },
    });
    if (!anchor) return null;
    const rows = await this.prisma.inboxMessage.findMany({
      where: {
        ...owner,
        archivedAt: null,
        OR: [{ createdAt: { gt: anchor.createdAt } }, { createdAt: anchor.createdAt, id: { gt: anchor.id } }],
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
    });
    return rows.length > limit ? { items: [], overflow: true } : { items: rows.map(inboxItem), overflow: false };
  }

  private async find(owner: InboxOwner, id: string): Promise<MessageRow> {
    const message = isUuid(id) ? await this.prisma.inboxMessage.findFirst({ where: { id, ...owner } }) : null;
    if (!message) throw Problem.notFound(`Inbox message ${id}`);
    return message;
  }
}

/** The public shape of an inbox item (docs/api.md), also what the live stream sends. */
export function inboxItem(
  m: Pick<MessageRow, 'id' | 'title' | 'body' | 'url' | 'data' | 'createdAt' | 'readAt' | 'seenAt' | 'archivedAt'>,
) {
  return {
    id: m.id,
    title: m.title,
    body: m.body,
    url: m.url ?? undefined,
    data: m.data,
    createdAt: m.createdAt,
    readAt: m.readAt ?? undefined,
    seenAt: m.seenAt ?? undefined,
    archivedAt: m.archivedAt ?? undefined,
  };
}
