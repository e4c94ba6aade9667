import { z } from 'zod';

/** What the inbox routes answer (docs/api.md); an item is also what the live stream sends. */

export const inboxItemSchema = z
  .object({
    id: z.string(),
    title: z.string(),
    body: z.string(),
    url: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.date(),
    readAt: z.date().optional(),
    seenAt: z.date().optional(),
    archivedAt: z.date().optional(),
  })
  .meta({ id: 'InboxItem' });

export const inboxPageSchema = z.object({ items: z.array(inboxItemSchema), nextCursor: z.string().optional() });

export const unreadCountSchema = z.object({ count: z.number().int() });

export const readAllSchema = z.object({ updated: z.number().int() });

/** `201` to `POST /v1/subscribers/:subscriberId/inbox-token`. */
export const inboxTokenSchema = z.object({ token: z.string(), expiresAt: z.date() }).meta({ id: 'InboxToken' });
