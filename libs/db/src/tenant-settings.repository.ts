import { Injectable } from '@nestjs/common';
import { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

/** A tenant's own settings row, as its admin key reads and changes it. */
export interface TenantSettingsRow {
  rateLimits: Prisma.JsonValue;
  smsFrom: string | null;
  quietHours: Prisma.JsonValue | null;
  defaultPreferences: Prisma.JsonValue;
}

/**
 * A tenant's settings (default rate limits and quiet hours, default preferences), read and written by that
 * tenant's admin key; each method takes the tenant id. The operator's side (sender numbers, suspension) is not here.
 */
@Injectable()
export class TenantSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  get(tenantId: string): Promise<TenantSettingsRow> {
    return this.prisma.tenant.findUniqueOrThrow({
      where: { id: tenantId },
      select: { rateLimits: true, smsFrom: true, quietHours: true, defaultPreferences: true },
    });
  }

  /** Replaces the default rate limits and quiet hours (`null`: none). */
  async saveDefaults(
    tenantId: string,
    settings: { rateLimits: Prisma.InputJsonValue; quietHours: Prisma.InputJsonValue | null },
  ): Promise<void> {
    await this.prisma.tenant.update({
      where: { id: tenantId },
      data: { rateLimits: settings.rateLimits, quietHours: settings.quietHours ?? Prisma.DbNull },
    });
  }

  async setDefaultPreferences(tenantId: string, defaultPreferences: Prisma.InputJsonValue): Promise<void> {
    await this.prisma.tenant.update({ where: { id: tenantId }, data: { defaultPreferences } });
  }
}
