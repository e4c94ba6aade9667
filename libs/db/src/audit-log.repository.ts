import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';

export type AuditRow = Awaited<ReturnType<PrismaService['auditLog']['findFirstOrThrow']>>;

export interface AuditEntry {
  /** null for a root-key change that names no tenant */
  tenantId: string | null;
  /** `key:<id>`, `root` */
  actor: string;
  /** method and route, e.g. `PUT /v1/rules/:eventType` */
  action: string;
  /** the path changed */
  target: string;
  /** the resource before and after, secrets already redacted, as JSON text (null: none) */
  before: string | null;
  after: string | null;
}

/** The audit log: written by the audit interceptor, read by its tenant's admin key, newest first. */
@Injectable()
export class AuditLogRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async record(entry: AuditEntry): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_log (tenant_id, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6)`,
      [entry.tenantId, entry.actor, entry.action, entry.target, entry.before, entry.after],
    );
  }

  /** Newest first, before the id `before` (the log only grows at the head); one more than `limit`. */
  page(tenantId: string, before: bigint | undefined, limit: number): Promise<AuditRow[]> {
    return this.prisma.auditLog.findMany({
      where: { tenantId, ...(before !== undefined && { id: { lt: before } }) },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
  }
}
