import { Injectable } from '@nestjs/common';
import { isUuid, newId } from '@herald/core';
import type { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

export type SourceRow = Awaited<ReturnType<PrismaService['source']['findFirstOrThrow']>>;

/**
 * Inbound hook sources. The admin methods take the tenant id; `forInboundPost` is the one system method: an
 * inbound post names only the source, and finds its tenant from it (its signature then proves the sender).
 */
@Injectable()
export class SourcesRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(
    tenantId: string,
    source: { name: string; eventType: string; mapping: Prisma.InputJsonValue },
    secret: string,
  ): Promise<SourceRow> {
    return this.prisma.source.create({ data: { id: newId(), tenantId, ...source, secret } });
  }

  /** Oldest first. */
  list(tenantId: string): Promise<SourceRow[]> {
    return this.prisma.source.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
  }

  get(tenantId: string, id: string): Promise<SourceRow | null> {
    return isUuid(id) ? this.prisma.source.findFirst({ where: { id, tenantId } }) : Promise.resolve(null);
  }

  /** false when the tenant has no such source. */
  async remove(tenantId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { count } = await this.prisma.source.deleteMany({ where: { id, tenantId } });
    return count > 0;
  }

  /** System: the source an inbound post names, unless there is none or its tenant is suspended. */
  async forInboundPost(sourceId: string): Promise<SourceRow | null> {
    if (!isUuid(sourceId)) return null;
    const source = await this.prisma.source.findUnique({ where: { id: sourceId } });
    // A suspended tenant's sources take nothing, as its keys take nothing (DELETE /v1/tenants/:id).
    const tenant = source && (await this.prisma.tenant.findUnique({ where: { id: source.tenantId } }));
    return source && tenant && !tenant.revokedAt ? source : null;
  }
}
