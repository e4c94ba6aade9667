import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { isUuid, normalizeAddress } from '@herald/core';
import { PG_POOL } from '@herald/db';
import { TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import { Problem } from '../http/problem';

export interface TenantSmsSender {
  id: string;
  name: string;
  /** the tenant's own sender number, or null: it sends from Herald's shared sender */
  smsFrom: string | null;
}

/**
 * Herald's shared SMS senders: TWILIO_FROM, each TWILIO_FALLBACK_URLS account's `from`, and the
 * sandbox's number. They send for every tenant without a number of its own, so no tenant may own
 * one, and a STOP texted to one of them opts out of all those tenants at once.
 */
export function sharedSmsSenders(config: HeraldConfig): string[] {
  const configured = [
    config.providers.sms?.from,
    ...config.providers.fallbacks.sms.map((account) => account.from),
    TWILIO_SANDBOX_FROM,
  ];
  // As written and in E.164, since Twilio reports numbers in E.164 and settings may not be.
  const numbers = configured.flatMap((from) => (from ? [from, normalizeAddress('sms', from) ?? from] : []));
  return [...new Set(numbers)];
}

/**
 * Which tenant sends SMS from which number. The operator (root key) assigns a number to one tenant;
 * the unique index on tenants.sms_from keeps it to one owner even when two assignments race.
 */
@Injectable()
export class SmsSenders {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  async get(tenantId: string): Promise<TenantSmsSender> {
    const { rows } = await this.pool.query<TenantSmsSender>(
      `SELECT id, name, sms_from AS "smsFrom" FROM tenants WHERE id = $1`,
      [this.known(tenantId)],
    );
    if (!rows[0]) throw Problem.notFound(`Tenant ${tenantId}`);
    return rows[0];
  }

  /** Gives the tenant `from` (E.164): 409 when it is a shared sender or another tenant's number. */
  async assign(tenantId: string, from: string): Promise<TenantSmsSender> {
    if (sharedSmsSenders(this.config).includes(from)) {
      throw taken(
        'sms-sender-shared',
        `${from} is Herald's shared sender, used by every tenant without a number of its own`,
      );
    }
    const tenant = await this.get(tenantId);
    if (tenant.smsFrom === from) return tenant;
    const owner = await this.pool.query<{ id: string }>(`SELECT id FROM tenants WHERE sms_from = $1`, [from]);
    if (owner.rows[0]) throw ownedBy(from, owner.rows[0].id);
    try {
      await this.pool.query(`UPDATE tenants SET sms_from = $2 WHERE id = $1`, [tenantId, from]);
    } catch (err) {
      // Another assignment of the same number committed between the check and the update.
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) throw ownedBy(from);
      throw err;
    }
    return { ...tenant, smsFrom: from };
  }

  /** The tenant goes back to the shared sender; its number is free for another tenant. */
  async release(tenantId: string): Promise<void> {
    const { rowCount } = await this.pool.query(`UPDATE tenants SET sms_from = NULL WHERE id = $1`, [
      this.known(tenantId),
    ]);
    if (!rowCount) throw Problem.notFound(`Tenant ${tenantId}`);
  }

  /** A tenant id that cannot exist is a 404, not a database error. */
  private known(tenantId: string): string {
    if (!isUuid(tenantId)) throw Problem.notFound(`Tenant ${tenantId}`);
    return tenantId;
  }
}

const UNIQUE_VIOLATION = '23505';

/** Only the root key gets here, so naming the owner helps the operator and tells no tenant anything. */
function ownedBy(from: string, ownerId?: string): Problem {
  const owner = ownerId ? `tenant ${ownerId}` : 'another tenant';
  return taken('sms-sender-taken', `${from} is assigned to ${owner}: release it there first`);
}

function taken(slug: string, detail: string): Problem {
  return new Problem(409, slug, 'SMS sender not available', detail, [
    { path: 'from', message: 'is not available to this tenant' },
  ]);
}
