import { z } from 'zod';

/** What the tenant and key routes answer (docs/api.md). */

/** `201` to `POST /v1/tenants`: the only answer that shows its first keys. */
export const createdTenantSchema = z
  .object({ id: z.string(), name: z.string(), keys: z.object({ admin: z.string(), ingest: z.string() }) })
  .meta({ id: 'CreatedTenant' });

export const smsSenderSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    smsFrom: z.string().nullable().describe("The tenant's own sender number; null: Herald's shared sender"),
  })
  .meta({ id: 'SmsSender' });

/** `201` to `POST /v1/keys`: the only answer that shows the key. */
export const createdApiKeySchema = z
  .object({ id: z.string(), key: z.string(), prefix: z.string(), scope: z.enum(['admin', 'ingest']) })
  .meta({ id: 'CreatedApiKey' });

/** A key as `GET /v1/keys` lists it: never the key itself. */
export const apiKeySchema = z
  .object({
    id: z.string(),
    prefix: z.string(),
    scope: z.enum(['admin', 'ingest']),
    createdAt: z.date(),
    lastUsedAt: z.date().optional(),
    revokedAt: z.date().optional(),
  })
  .meta({ id: 'ApiKey' });

export const apiKeysSchema = z.object({ items: z.array(apiKeySchema) });
