import { z } from 'zod';
import { CHANNELS, ruleInputSchema } from '@herald/core';

/** What the rule routes answer (docs/api.md). */

export const ruleViewSchema = z
  .object({
    eventType: z.string(),
    category: z.string().optional(),
    critical: z.boolean(),
    channels: ruleInputSchema.shape.channels,
    createdAt: z.date(),
    updatedAt: z.date(),
    warnings: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .describe('Allowed but probably unintended (e.g. an SMS body longer than 10 segments); only on `PUT`'),
  })
  .meta({ id: 'RuleView' });

export const rulesSchema = z.object({ items: z.array(ruleViewSchema) });

/** `POST /v1/rules/:eventType/preview`: each channel's rendered parts, nothing sent. */
export const rulePreviewSchema = z
  .object({
    eventType: z.string(),
    channels: z.array(
      z.object({
        channel: z.enum(CHANNELS),
        content: z.record(z.string(), z.unknown()),
        segments: z.number().int().optional().describe('SMS only: how many segments the body takes'),
      }),
    ),
  })
  .meta({ id: 'RulePreview' });
