import { Injectable } from '@nestjs/common';
import { newId } from '@herald/core';
import type { Prisma } from './generated/prisma/client';
import { PrismaService } from './prisma.service';

export type RuleRow = Awaited<ReturnType<PrismaService['rule']['findFirstOrThrow']>>;

/** What a rule says, as PUT /v1/rules/:eventType stores it. */
export interface RuleFields {
  category: string | null;
  critical: boolean;
  channels: Prisma.InputJsonValue;
}

/** A tenant's rules, one per event type; every method is scoped by the tenant id. */
@Injectable()
export class RulesRepository {
  constructor(private readonly prisma: PrismaService) {}

  save(tenantId: string, eventType: string, fields: RuleFields): Promise<RuleRow> {
    return this.prisma.rule.upsert({
      where: { tenantId_eventType: { tenantId, eventType } },
      create: { id: newId(), tenantId, eventType, ...fields },
      update: { ...fields, updatedAt: new Date() },
    });
  }

  /** By event type, A to Z. */
  list(tenantId: string): Promise<RuleRow[]> {
    return this.prisma.rule.findMany({ where: { tenantId }, orderBy: { eventType: 'asc' } });
  }

  get(tenantId: string, eventType: string): Promise<RuleRow | null> {
    return this.prisma.rule.findUnique({ where: { tenantId_eventType: { tenantId, eventType } } });
  }

  /** false when there was no such rule. */
  async remove(tenantId: string, eventType: string): Promise<boolean> {
    const { count } = await this.prisma.rule.deleteMany({ where: { tenantId, eventType } });
    return count > 0;
  }
}
