import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './pg-pool';

/** What runs a statement: the pool, or the client of a transaction the caller holds. */
type Queryable = Pick<Pool, 'query'>;

export interface TenantSmsSender {
  id: string;
  name: string;
  /** the tenant's own sender number, or null: it sends from Herald's shared sender */
  smsFrom: string | null;
}

const UNIQUE_VIOLATION = '23505';

const GET = `SELECT id, name, sms_from AS "smsFrom" FROM tenants WHERE id = $1`;
const OWNER = `SELECT id FROM tenants WHERE sms_from = $1`;
const ASSIGN = `UPDATE tenants SET sms_from = $2 WHERE id = $1`;
const RELEASE = `UPDATE tenants SET sms_from = NULL WHERE id = $1`;
const SENDING_FROM_SHARED = `SELECT id FROM tenants WHERE sms_from IS NULL OR sms_from = ANY($1)`;

/**
 * Which tenant sends SMS from which number (tenants.sms_from), as the operator (the root key) assigns them: the
 * unique index on the column keeps a number to one owner even when two assignments race. `ownerOf` and
 * `tenantsSendingFrom` are system methods: they find tenants from a number.
 */
@Injectable()
export class SmsSendersRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The tenant and its own number, or null when there is no such tenant. */
  async get(tenantId: string): Promise<TenantSmsSender | null> {
    const { rows } = await this.pool.query<TenantSmsSender>(GET, [tenantId]);
    return rows[0] ?? null;
  }

  /**
   * Gives the tenant `from`; `taken` when another tenant holds it (the unique index said so, also when that
   * assignment committed after the caller's check).
   */
  async assign(tenantId: string, from: string): Promise<'assigned' | 'taken'> {
    try {
      await this.pool.query(ASSIGN, [tenantId, from]);
      return 'assigned';
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return 'taken';
      throw err;
    }
  }

  /** The tenant goes back to the shared sender; false when there is no such tenant. */
  async release(tenantId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(RELEASE, [tenantId]);
    return Boolean(rowCount);
  }

  /** System: the tenant that owns `from`, or null. For the operator, who may be told which tenant holds it. */
  async ownerOf(from: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(OWNER, [from]);
    return rows[0]?.id ?? null;
  }

  /**
   * System, for provider callbacks (an inbound STOP): the tenants that send from the number written to. A
   * tenant's own number is that tenant's alone; a shared sender (pass `shared`, Herald's shared numbers, when
   * `to` is one of them) sends for every tenant without a number of its own, and for any tenant whose number
   * was set to a shared sender before numbers had owners.
   */
  async tenantsSendingFrom(to: string, shared: string[], db: Queryable = this.pool): Promise<string[]> {
    const { rows } = shared.includes(to)
      ? await db.query<{ id: string }>(SENDING_FROM_SHARED, [shared])
      : await db.query<{ id: string }>(OWNER, [to]);
    return rows.map((r) => r.id);
  }
}
