import { BeforeApplicationShutdown, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { RevocationsRepository } from '@herald/db';

/** A key revoked (`keyId`), or a whole tenant (no `keyId`): every key and token of it. */
export interface Revocation {
  tenantId: string;
  keyId?: string;
}

/** How often each api process asks what was revoked: the longest a revoked key works on another replica. */
export const REVOCATION_POLL_MS = 5_000;
/**
 * Each poll also looks this far behind the previous one: a revocation committed while a poll ran, or
 * stamped by a clock a little behind the database's, is still seen, and a stream opened on a stale
 * cache just after a revocation is still ended. Hearing of a revocation twice changes nothing.
 */
const OVERLAP_SECONDS = 60;

/**
 * Tells this api process when a key or a tenant is revoked, so its caches (ApiKeysService) drop the
 * credentials and its live inbox streams (InboxStreamService) end. A revocation made here is applied
 * at once; one made on another replica is seen at this process's next poll, within REVOCATION_POLL_MS:
 * one small indexed query per process every few seconds, whatever the number of open streams, and
 * nothing to miss (unlike a pub/sub message sent while a subscriber was reconnecting). While Postgres
 * is unreachable, cached keys keep working until their cache entry ends (30 s, ApiKeysService).
 */
@Injectable()
export class RevocationsService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('revocations');
  private readonly listeners = new Set<(revocation: Revocation) => void>();
  private timer?: NodeJS.Timeout;
  private current?: Promise<unknown>;
  /** performance.now() of the last poll that answered: the next one looks back at least that far */
  private lastPolled = performance.now();

  constructor(private readonly revoked: RevocationsRepository) {}

  /** Calls `listener` with each revocation, made here or seen by a poll; returns the unsubscribe function. */
  onRevoked(listener: (revocation: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a revocation this process has just committed, without waiting for the next poll. */
  announce(revocation: Revocation): void {
    for (const listener of [...this.listeners]) listener(revocation);
  }

  /** One poll: announces everything revoked since shortly before the last poll that answered. */
  async pollOnce(): Promise<void> {
    const startedAt = performance.now();
    const lookBack = Math.ceil((startedAt - this.lastPolled) / 1000) + OVERLAP_SECONDS;
    const rows = await this.revoked.revokedWithin(lookBack);
    this.lastPolled = startedAt;
    for (const { tenantId, keyId } of rows) this.announce(keyId ? { tenantId, keyId } : { tenantId });
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.current = this.pollOnce()
        .catch((err: Error) => this.logger.warn(`revocation poll failed: ${err.message}`))
        .finally(() => {
          if (this.timer) this.schedule();
        });
    }, REVOCATION_POLL_MS);
  }
}

/** Whether `revocation` takes away what `holder` (a key, a token, a stream) was granted. */
export function revokes(revocation: Revocation, holder: { tenantId: string; keyId?: string }): boolean {
  return holder.tenantId === revocation.tenantId && (!revocation.keyId || holder.keyId === revocation.keyId);
}
