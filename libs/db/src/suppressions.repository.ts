import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { isUuid, normalizeAddress, type SuppressibleChannel } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';
import { suppress, type SuppressionInput } from './suppressions';

export type SuppressionRow = Awaited<ReturnType<PrismaService['suppression']['findFirstOrThrow']>>;

/** The list's filters; absent ones do not filter. */
export interface SuppressionFilter {
  channel?: SuppressibleChannel;
  /** as typed: searched normalized for `channel` when one is given (as typed if it is not one of its addresses) */
  address?: string;
}

/**
 * A tenant's suppression list as its admin key manages it; every statement filters on the tenant. Adding goes
 * through `suppress()` (suppressions.ts), which merges a new entry with the one already there as provider
 * signals do.
 */
@Injectable()
export class SuppressionsRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /** Newest first, after the cursor's (createdAt, id); one more than `limit`, so the caller knows there is more. */
  page(
    tenantId: string,
    filter: SuppressionFilter,
    after: { at: Date; id: string } | undefined,
    limit: number,
  ): Promise<SuppressionRow[]> {
    const { channel, address } = filter;
    return this.prisma.suppression.findMany({
      where: {
        tenantId,
        ...(channel && { channel }),
        // An address is searched as it is stored: normalized for its channel (or as typed, if it is not one).
        ...(address && { address: channel ? (normalizeAddress(channel, address) ?? address) : address }),
        ...(after && { OR: [{ createdAt: { lt: after.at } }, { createdAt: after.at, id: { lt: after.id } }] }),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: limit + 1,
    });
  }

  /** Adds (or merges into) the tenant's entry for the address; null when the address is not one of the channel's. */
  async add(tenantId: string, input: Omit<SuppressionInput, 'tenantId'>): Promise<SuppressionRow | null> {
    const id = await suppress(this.pool, { ...input, tenantId });
    return id ? this.prisma.suppression.findUniqueOrThrow({ where: { id, tenantId } }) : null;
  }

  /** false when the tenant has no such entry (or the id is not one). */
  async remove(tenantId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    const { count } = await this.prisma.suppression.deleteMany({ where: { id, tenantId } });
    return count > 0;
  }
}
