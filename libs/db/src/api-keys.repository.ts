import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import type { KeyScope } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { PrismaService } from './prisma.service';

export type ApiKeyRow = Awaited<ReturnType<PrismaService['apiKey']['findFirstOrThrow']>>;

/** A live key (neither it nor its tenant revoked), as a request's credential names it. */
export interface LiveKeyRow {
  id: string;
  tenantId: string;
  scope: KeyScope;
}

// The hash's unique index finds the key; the tenant's revocation comes in the same round trip.
const LIVE_BY_HASH = `
SELECT k.id, k.tenant_id AS "tenantId", k.scope FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
WHERE k.hash = $1 AND k.revoked_at IS NULL AND t.revoked_at IS NULL`;

/**
 * Tenants' API keys, stored as hashes (the secret is shown once, at creation). Each method takes the tenant id,
 * but for `liveByHash`, the one system method: a request's key is all it has to find its tenant by.
 */
@Injectable()
export class ApiKeysRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async create(tenantId: string, key: { id: string; scope: KeyScope; prefix: string; hash: string }): Promise<void> {
    await this.prisma.apiKey.create({ data: { ...key, tenantId } });
  }

  /** Oldest first, revoked ones too. */
  list(tenantId: string): Promise<ApiKeyRow[]> {
    return this.prisma.apiKey.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
  }

  /** Revokes a key of the tenant; false when the tenant has no such live key. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, tenantId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0;
  }

  /** Whether the key is the tenant's, not revoked, and the tenant is not revoked either. */
  async isLive(tenantId: string, id: string): Promise<boolean> {
    return (
      (await this.prisma.apiKey.count({ where: { id, tenantId, revokedAt: null, tenant: { revokedAt: null } } })) > 0
    );
  }

  /** Stamps when the key was last used. */
  async touch(tenantId: string, id: string, at: Date): Promise<void> {
    await this.prisma.apiKey.updateMany({ where: { id, tenantId }, data: { lastUsedAt: at } });
  }

  /** System: the live key with this hash, and so its tenant; null when unknown or revoked (one round trip). */
  async liveByHash(hash: string): Promise<LiveKeyRow | null> {
    const { rows } = await this.pool.query<LiveKeyRow>(LIVE_BY_HASH, [hash]);
    return rows[0] ?? null;
  }
}
