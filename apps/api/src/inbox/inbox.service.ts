import { Injectable } from '@nestjs/common';
import { InboxRepository, type InboxMessageRow } from '@herald/db';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';

export interface InboxOwner {
  tenantId: string;
  subscriberId: string;
}

/** One subscriber's in-app inbox. Archived messages leave every listing and count. */
@Injectable()
export class InboxService {
  constructor(private readonly messages: InboxRepository) {}

  async list(owner: InboxOwner, opts: { cursor?: string; limit: number; status: 'unread' | 'read' | 'all' }) {
    const after = opts.cursor ? decodeCursor(opts.cursor) : undefined;
    const rows = await this.messages.page(owner.tenantId, owner.subscriberId, {
      after,
      limit: opts.limit,
      status: opts.status,
    });
    const { page, nextCursor } = pageOf(rows, opts.limit, (row) => row.createdAt);
    return {
      items: page.map(inboxItem),
      nextCursor,
    };
  }

  async unreadCount(owner: InboxOwner): Promise<{ count: number }> {
    return { count: await this.messages.unreadCount(owner.tenantId, owner.subscriberId) };
  }

  async markRead(owner: InboxOwner, id: string) {
    const message = await this.find(owner, id);
    if (message.readAt) return inboxItem(message);
    return inboxItem(
      await this.messages.markRead(owner.tenantId, owner.subscriberId, message.id, new Date(), message.seenAt),
    );
  }

  async markAllRead(owner: InboxOwner): Promise<{ updated: number }> {
    return { updated: await this.messages.markAllRead(owner.tenantId, owner.subscriberId, new Date()) };
  }

  async archive(owner: InboxOwner, id: string) {
    const message = await this.find(owner, id);
    if (message.archivedAt) return inboxItem(message);
    return inboxItem(await this.messages.archive(owner.tenantId, owner.subscriberId, message.id, new Date()));
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
    const rows = await this.messages.after(owner.tenantId, owner.subscriberId, afterId, limit);
    if (!rows) return null;
    return rows.length > limit ? { items: [], overflow: true } : { items: rows.map(inboxItem), overflow: false };
  }

  private async find(owner: InboxOwner, id: string): Promise<InboxMessageRow> {
    const message = await this.messages.get(owner.tenantId, owner.subscriberId, id);
    if (!message) throw Problem.notFound(`Inbox message ${id}`);
    return message;
  }
}

/** The public shape of an inbox item (docs/api.md), also what the live stream sends. */
export function inboxItem(
  m: Pick<InboxMessageRow, 'id' | 'title' | 'body' | 'url' | 'data' | 'createdAt' | 'readAt' | 'seenAt' | 'archivedAt'>,
) {
  return {
    id: m.id,
    title: m.title,
    body: m.body,
    url: m.url ?? undefined,
    data: m.data as Record<string, unknown>, // an object, as the rule's template made it
    createdAt: m.createdAt,
    readAt: m.readAt ?? undefined,
    seenAt: m.seenAt ?? undefined,
    archivedAt: m.archivedAt ?? undefined,
  };
}
