import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './pg-pool';

/** A key revoked (`keyId`), or a whole tenant (`keyId` null): every key and token of it. */
export interface RevokedRow {
  tenantId: string;
  keyId: string | null;
}

// Both look-ups are bounded by the revoked_at indexes; the result is the handful revoked lately.
const RECENT = `
SELECT tenant_id AS "tenantId", id AS "keyId" FROM api_keys WHERE revoked_at > now() - make_interval(secs => $1)
UNION ALL
SELECT id, NULL FROM tenants WHERE revoked_at > now() - make_interval(secs => $1)`;

/**
 * What was revoked lately, for each api process's revocation poll. System: spans tenants by nature (every
 * process drops what any tenant's revocation takes away from its caches and streams).
 */
@Injectable()
export class RevocationsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** System: the keys and tenants of every tenant revoked in the last `seconds` (by the database's clock). */
  async revokedWithin(seconds: number): Promise<RevokedRow[]> {
    const { rows } = await this.pool.query<RevokedRow>(RECENT, [seconds]);
    return rows;
  }
}
