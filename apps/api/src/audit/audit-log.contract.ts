import { z } from 'zod';

/** `GET /v1/audit-log`: who changed what, newest first (docs/api.md). */
export const auditEntrySchema = z
  .object({
    id: z.string(),
    at: z.date(),
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    before: z.unknown().optional(),
    after: z.unknown().optional(),
  })
  .meta({ id: 'AuditEntry' });

export const auditLogPageSchema = z.object({ items: z.array(auditEntrySchema), nextCursor: z.string().optional() });
