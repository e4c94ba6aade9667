import { z } from 'zod';

/** What the event type and data schema routes answer (docs/api.md). */

export const eventTypesSchema = z.object({
  items: z.array(
    z.object({ type: z.string(), latestVersion: z.number().int().nullable(), versions: z.number().int() }),
  ),
});

export const eventSchemaViewSchema = z
  .object({
    type: z.string(),
    version: z.number().int(),
    schema: z.unknown().describe('The JSON Schema `data` is checked against'),
    createdAt: z.date(),
  })
  .meta({ id: 'EventSchema' });

export const eventSchemaVersionsSchema = z.object({
  type: z.string(),
  latestVersion: z.number().int(),
  versions: z.array(eventSchemaViewSchema),
});
