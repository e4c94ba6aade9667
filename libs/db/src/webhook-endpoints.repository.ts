import { Injectable } from '@nestjs/common';
import { isUuid, newId } from '@herald/core';
import { PrismaService } from './prisma.service';

export type EndpointRow = Awaited<ReturnType<PrismaService['webhookEndpoint']['findFirstOrThrow']>>;

export interface EndpointChange {
  url?: string;
  eventTypes?: string[];
  description?: string | null;
  active?: boolean;
  disabledReason?: string | null;
  consecutiveFailures?: number;
}

/**
 * A tenant's webhook endpoints, as its admin key manages them; every statement filters on the tenant, writes
 * included. (The worker's delivery bookkeeping on an endpoint — failures, disabling — is the delivery path's.)
 */
@Injectable()
export class WebhookEndpointsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(
    tenantId: string,
    endpoint: { url: string; eventTypes: string[]; description?: string },
    secret: string,
  ): Promise<EndpointRow> {
    return this.prisma.webhookEndpoint.create({ data: { id: newId(), tenantId, ...endpoint, secret } });
  }

  /** Oldest first. */
  list(tenantId: string): Promise<EndpointRow[]> {
    return this.prisma.webhookEndpoint.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
  }

  /** null for an id that is not one of the tenant's endpoints (or not an id at all). */
  get(tenantId: string, id: string): Promise<EndpointRow | null> {
    return isUuid(id) ? this.prisma.webhookEndpoint.findFirst({ where: { id, tenantId } }) : Promise.resolve(null);
  }

  /** The endpoint as changed, or null when the tenant has no such endpoint. */
  async update(tenantId: string, id: string, change: EndpointChange): Promise<EndpointRow | null> {
    if (!isUuid(id)) return null;
    const { count } = await this.prisma.webhookEndpoint.updateMany({
      where: { id, tenantId },
      data: { ...change, updatedAt: new Date() },
    });
    return count ? this.get(tenantId, id) : null;
  }

  /** false when the tenant has no such endpoint. */
  async remove(tenantId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { count } = await this.prisma.webhookEndpoint.deleteMany({ where: { id, tenantId } });
    return count > 0;
  }
}
