import { z } from 'zod';

/** What the inbound hook source routes answer (docs/api.md). */

const mapping = z.object({
  subscriberId: z.string(),
  email: z.string().optional(),
  phone: z.string().optional(),
  locale: z.string().optional(),
  timezone: z.string().optional(),
  data: z.string().optional(),
});

const sourceShape = {
  id: z.string(),
  name: z.string(),
  eventType: z.string(),
  mapping: mapping.describe('JSON Pointers into the hook body'),
  url: z.string().describe('Where the sender posts: `POST /v1/hooks/{id}`'),
  createdAt: z.date(),
};

export const sourceSchema = z.object(sourceShape).meta({ id: 'Source' });

/** `201` to `POST /v1/sources`: the only answer that shows the signing secret. */
export const createdSourceSchema = z.object({ ...sourceShape, secret: z.string() }).meta({ id: 'CreatedSource' });

export const sourcesSchema = z.object({ items: z.array(sourceSchema) });
