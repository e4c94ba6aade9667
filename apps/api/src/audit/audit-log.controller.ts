import { Controller, Get } from '@nestjs/common';
import { z } from 'zod';
import { AuditLogRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { ValidQuery } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { auditLogPageSchema } from './audit-log.contract';

const listQuery = z.object({
  cursor: z
    .string()
    .regex(/^\d{1,19}$/, { error: 'expects a nextCursor from a previous page' })
    .optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** The tenant's audit log, newest first: who changed what, with the resource before and after. */
@Controller('v1/audit-log')
@Auth('admin')
export class AuditLogController {
  constructor(private readonly auditLog: AuditLogRepository) {}

  @Get()
  @Returns(auditLogPageSchema)
  async list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    const rows = await this.auditLog.page(tenantId, input.cursor ? BigInt(input.cursor) : undefined, input.limit);
    const page = rows.slice(0, input.limit);
    return {
      items: page.map((r) => ({
        id: String(r.id),
        at: r.at,
        actor: r.actor,
        action: r.action,
        target: r.target,
        before: r.before ?? undefined,
        after: r.after ?? undefined,
      })),
      // The log only grows at the head, so the last id is a stable cursor.
      nextCursor: rows.length > input.limit ? String(page[page.length - 1].id) : undefined,
    };
  }
}
