import { z } from 'zod';
import { CHANNELS, quietHoursSchema, rateLimitSchema } from '@herald/core';

/** `GET` and `PATCH /v1/settings`: the tenant's defaults (docs/api.md). */
export const settingsSchema = z
  .object({
    rateLimits: z.partialRecord(z.enum(CHANNELS), rateLimitSchema),
    smsFrom: z.string().nullable().describe("Assigned by the operator; null: Herald's shared sender"),
    quietHours: quietHoursSchema.optional(),
  })
  .meta({ id: 'Settings' });
