import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES } from '@herald/core';

/** `GET /v1/stats`: the console's overview (docs/api.md). */
export const statsSchema = z
  .object({
    window: z.enum(['1h', '24h']),
    deliveries: z.array(
      z.object({ channel: z.enum(CHANNELS), status: z.enum(DELIVERY_STATUSES), count: z.number().int() }),
    ),
    outbox: z.object({ pending: z.number().int(), lagSeconds: z.number().int() }),
    queues: z.array(
      z.object({
        name: z.string(),
        available: z.boolean(),
        jobs: z.record(z.string(), z.number().int()).optional().describe('Jobs per state; absent when unavailable'),
      }),
    ),
  })
  .meta({ id: 'Stats' });
