import { Injectable } from '@nestjs/common';
import { generateApiKey, hashSecret, isUuid, newId, type KeyScope } from '@herald/core';
import { ApiKeysRepository, TenantsRepository } from '@herald/db';
import type { Principal } from './principal';
import { RevocationsService, revokes, type Revocation } from './revocations.service';

const CACHE_MS = 30_000;
const TOUCH_MS = 60_000;
const MAX_CACHED = 10_000;

type KeyPrincipal = Extract<Principal, { kind: 'key' }>;

/**
 * Tenant keys, and the liveness of the keys and tenants behind inbox tokens. Lookups are cached
 * briefly, because every request is authenticated and the ingest path must not pay a query for it.
 * A revocation (of a key, or of its whole tenant) drops the cached entries at once in the process
 * that made it, and in every other api process at its next revocation poll (RevocationsService): a
 * revoked key, a revoked tenant's key and the inbox tokens they issued work for up to 5 s more on
 * other replicas, or up to 30 s (a cache entry's life) while Postgres cannot be asked.
 */
@Injectable()
export class ApiKeysService {
  private readonly cache = new Map<string, { principal: KeyPrincipal | null; until: number }>();
  /** per inbox token issuer (`key:<id>`, or `tenant:<id>` for tokens that name no key): still live? */
  private readonly issuers = new Map<string, { tenantId: string; keyId?: string; live: boolean; until: number }>();
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly tenants: TenantsRepository,
    private readonly revocations: RevocationsService,
  ) {
    revocations.onRevoked((revocation) => this.forget(revocation));
  }

  async create(tenantId: string, scope: KeyScope): Promise<{ id: string; key: string; prefix: string }> {
    const { key, prefix, hash } = generateApiKey(scope);
    const id = newId();
    await this.keys.create(tenantId, { id, scope, prefix, hash });
    return { id, key, prefix };
  }

  /** Revokes a key of the tenant, and the inbox tokens it issued; false when there is no such live key. */
  async revoke(tenantId: string, id: string): Promise<boolean> {
    const revoked = await this.keys.revoke(tenantId, id);
    if (revoked) this.revocations.announce({ tenantId, keyId: id });
    return revoked;
  }

  /**
   * Revokes (suspends) a tenant: its keys and inbox tokens are refused from now on, its live streams
   * end. Its keys are left as they were, so that the suspension alone says why. False when there is
   * no such tenant, or it is revoked already.
   */
  async revokeTenant(tenantId: string): Promise<boolean> {
    const revoked = await this.tenants.revoke(tenantId);
    if (revoked) this.revocations.announce({ tenantId });
    return revoked;
  }

  async authenticate(key: string): Promise<KeyPrincipal | null> {
    const hash = hashSecret(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;

    const row = await this.keys.liveByHash(hash);
    const principal = row ? { kind: 'key' as const, tenantId: row.tenantId, keyId: row.id, scope: row.scope } : null;
    if (this.cache.size > MAX_CACHED) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_MS });
    if (principal) this.touch(principal.tenantId, principal.keyId, now);
    return principal;
  }

  /**
   * Whether an inbox token's issuer still stands: the admin key it names is live and of the token's
   * tenant, and the tenant is not revoked. A token from before tokens named their key is refused only
   * once its tenant is revoked.
   */
  async tokenIssuerLive(tenantId: string, keyId: string | undefined): Promise<boolean> {
    const id = keyId ? `key:${keyId}` : `tenant:${tenantId}`;
    const now = Date.now();
    const cached = this.issuers.get(id);
    if (cached && cached.until > now) return cached.live;

    let live: boolean;
    if (keyId) {
      live = isUuid(keyId) && isUuid(tenantId) && (await this.keys.isLive(tenantId, keyId));
    } else {
      live = !isUuid(tenantId) || !(await this.tenants.isRevoked(tenantId));
    }
    if (this.issuers.size > MAX_CACHED) this.issuers.clear();
    this.issuers.set(id, { tenantId, keyId, live, until: now + CACHE_MS });
    return live;
  }

  /** Drops what the cache holds of a revoked key or tenant, so the next request asks Postgres. */
  private forget(revocation: Revocation): void {
    for (const [hash, entry] of this.cache) {
      if (entry.principal && revokes(revocation, entry.principal)) this.cache.delete(hash);
    }
    for (const [id, entry] of this.issuers) if (revokes(revocation, entry)) this.issuers.delete(id);
  }

  /** last_used_at at minute precision, off the request path. */
  private touch(tenantId: string, keyId: string, now: number): void {
    if ((this.touched.get(keyId) ?? 0) > now - TOUCH_MS) return;
    this.touched.set(keyId, now);
    this.keys.touch(tenantId, keyId, new Date(now)).catch(() => this.touched.delete(keyId));
  }
}
