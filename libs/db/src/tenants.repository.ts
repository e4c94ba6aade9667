import { Injectable } from '@nestjs/common';
import { newId } from '@herald/core';
import { PrismaService } from './prisma.service';

export interface TenantRow {
  id: string;
  name: string;
}

/**
 * Tenants as the operator (the root key) and the dev start make and suspend them. A tenant's own settings are
 * TenantSettingsRepository's, its sender number SmsSendersRepository's.
 */
@Injectable()
export class TenantsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A new tenant, without keys yet (ApiKeysRepository.create makes them). */
  create(name: string): Promise<TenantRow> {
    return this.prisma.tenant.create({ data: { id: newId(), name }, select: { id: true, name: true } });
  }

  /** Whether the tenant exists, suspended or not: the dev start reuses the tenant it saved. */
  async exists(tenantId: string): Promise<boolean> {
    return (await this.prisma.tenant.findUnique({ where: { id: tenantId }, select: { id: true } })) !== null;
  }

  /** Suspends the tenant (sets revoked_at); false when there is no such tenant, or it is suspended already. */
  async revoke(tenantId: string): Promise<boolean> {
    const { count } = await this.prisma.tenant.updateMany({
      where: { id: tenantId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0;
  }

  /** Whether the tenant is suspended (false for one that does not exist). */
  async isRevoked(tenantId: string): Promise<boolean> {
    return (await this.prisma.tenant.count({ where: { id: tenantId, revokedAt: { not: null } } })) > 0;
  }
}
