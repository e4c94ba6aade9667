import { z } from 'zod';

/** What the suppression routes answer (docs/api.md). */

export const suppressionSchema = z
  .object({
    id: z.string(),
    channel: z.enum(['email', 'sms']),
    address: z.string(),
    reason: z.enum(['hard_bounce', 'complaint', 'opt_out', 'invalid_address', 'manual']),
    source: z.string(),
    detail: z.string().optional(),
    deliveryId: z.string().optional(),
    createdAt: z.date(),
    expiresAt: z.date().optional(),
  })
  .meta({ id: 'Suppression' });

export const suppressionPageSchema = z.object({
  items: z.array(suppressionSchema),
  nextCursor: z.string().optional(),
});
