import { z } from 'zod';

/** What the health routes answer when the process is live and ready (a 503 is problem+json). */

export const liveSchema = z.object({ status: z.literal('ok') });

export const readySchema = z.object({
  status: z.string().describe('`ok`'),
  checks: z
    .record(z.string(), z.object({ status: z.string() }).catchall(z.unknown()))
    .describe('Each check (postgres, redis) and its status'),
});
