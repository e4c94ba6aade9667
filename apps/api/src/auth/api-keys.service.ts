import { Inject, Injectable } from '@nestjs/common';
import { generateApiKey, hashSecret, newId, type KeyScope } from '@herald/core';
import { PrismaService } from '@herald/db';
import type { Principal } from './principal';

const CACHE_MS = 30_000;
const TOUCH_MS = 60_000;

/**
 * Tenant keys. Lookups are by SHA-256 of the presented key and cached briefly, because every
 * request is authenticated and the ingest path must not pay a query for it; a revoked key can
 * therefore work for up to 30 s on other api replicas.
 */
@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, { principal: Extract<Principal, { kind: 'key' }> | null; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  async create(tenantId: string, scope: KeyScope): Promise<{ id: string; key: string; prefix: string }> {
    const { key, prefix, hash } = generateApiKey(scope);
    const id = newId();
    await this.prisma.apiKey.create({ data: { id, tenantId, scope, prefix, hash } });
    return { id, key, prefix };
  }

  /** Revokes a key of the tenant; false when there is no such live key. Takes effect here at once. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, tenantId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    for (const [hash, entry] of this.cache) if (entry.principal?.keyId === id) this.cache.delete(hash);
    return count > 0;
  }

  async authenticate(key: string): Promise<Extract<Principal, { kind: 'key' }> | null> {
    const hash = hashSecret(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;

    const row = await this.prisma.apiKey.findUnique({ where: { hash } });
    const principal =
      row && !row.revokedAt
        ? { kind: 'key' as const, tenantId: row.tenantId, keyId: row.id, scope: row.scope as KeyScope }
        : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_MS });
    if (principal) this.touch(principal.keyId, now);
    return principal;
  }

  /** last_used_at at minute precision, off the request path. */
  private touch(keyId: string, now: number): void {
    if ((this.touched.get(keyId) ?? 0) > now - TOUCH_MS) return;
    this.touched.set(keyId, now);
    this.prisma.apiKey
      .update({ where: { id: keyId }, data: { lastUsedAt: new Date(now) } })
      .catch(() => this.touched.delete(keyId));
  }
}
