import { z } from 'zod';

/** What the topic routes answer (docs/api.md). */

export const topicSchema = z
  .object({ key: z.string(), members: z.number().int(), createdAt: z.date() })
  .meta({ id: 'Topic' });

/** `PUT /v1/topics/:key/subscribers`: how many were added and removed, and the members after. */
export const topicChangeSchema = z
  .object({ key: z.string(), added: z.number().int(), removed: z.number().int(), members: z.number().int() })
  .meta({ id: 'TopicChange' });

export const topicMemberPageSchema = z.object({
  items: z.array(z.object({ subscriberId: z.string(), addedAt: z.date() })),
  nextCursor: z.string().optional(),
});
