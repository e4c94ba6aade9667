import { z } from 'zod';
import { CHANNELS } from '@herald/core';
import { deliveryAttemptSchema } from '../deliveries/deliveries.contract';

/** What the dead-letter routes answer (docs/api.md). */

export const deadLetterSchema = z
  .object({
    deliveryId: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    channel: z.enum(CHANNELS),
    subscriberId: z.string().optional(),
    endpointId: z.string().optional(),
    attempts: z.number().int(),
    lastError: z.string().optional(),
    lastAttempt: deliveryAttemptSchema.optional(),
    deadAt: z.date(),
  })
  .meta({ id: 'DeadLetter' });

export const deadLetterPageSchema = z.object({ items: z.array(deadLetterSchema), nextCursor: z.string().optional() });

export const replayedOneSchema = z.object({ deliveryId: z.string(), status: z.literal('queued') });

export const replayedSchema = z.object({ replayed: z.number().int() });
