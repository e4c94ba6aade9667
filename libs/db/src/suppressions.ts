import type { Pool, PoolClient } from 'pg';
import { newId, normalizeAddress, type SuppressibleChannel } from '@herald/core';

type Queryable = Pool | PoolClient;

export type SuppressionReason = 'hard_bounce' | 'complaint' | 'opt_out' | 'invalid_address' | 'manual';

export interface SuppressionInput {
  tenantId: string;
  channel: SuppressibleChannel;
  address: string;
  reason: SuppressionReason;
  /** who said so: smtp, ses, sendgrid, generic, twilio, admin */
  source: string;
  detail?: string;
  deliveryId?: string;
  expiresAt?: Date;
}

/**
 * Adds an address to the tenant's suppression list (normalized), or keeps the entry already there.
 * Returns the entry's id, or null when the address is not one of the channel's.
 */
export async function suppress(db: Queryable, input: SuppressionInput): Promise<string | null> {
  const address = normalizeAddress(input.channel, input.address);
  if (!address) return null;
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO suppressions (id, tenant_id, channel, address, reason, source, detail, delivery_id, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (tenant_id, channel, address) DO UPDATE SET
       -- An expired entry is renewed by the new signal; a live one is left as it was.
       reason = CASE WHEN suppressions.expires_at < now() THEN EXCLUDED.reason ELSE suppressions.reason END,
       expires_at = CASE WHEN suppressions.expires_at < now() THEN EXCLUDED.expires_at ELSE suppressions.expires_at END
     RETURNING id`,
    [
      newId(),
      input.tenantId,
      input.channel,
      address,
      input.reason,
      input.source,
      input.detail ?? null,
      input.deliveryId ?? null,
      input.expiresAt ?? null,
    ],
  );
  return rows[0].id;
}

/** Lifts a suppression (an opt-in after an opt-out); returns how many entries went. */
export async function liftSuppression(
  db: Queryable,
  tenantId: string,
  channel: SuppressibleChannel,
  address: string,
  reason?: SuppressionReason,
): Promise<number> {
  const normalized = normalizeAddress(channel, address);
  if (!normalized) return 0;
  const { rowCount } = await db.query(
    `DELETE FROM suppressions WHERE tenant_id = $1 AND channel = $2 AND address = $3 AND ($4::text IS NULL OR reason = $4)`,
    [tenantId, channel, normalized, reason ?? null],
  );
  return rowCount ?? 0;
}

/** The live suppression of an address, if any. */
export async function findSuppression(
  db: Queryable,
  tenantId: string,
  channel: SuppressibleChannel,
  address: string,
): Promise<{ id: string; reason: string; source: string } | null> {
  const normalized = normalizeAddress(channel, address);
  if (!normalized) return null;
  const { rows } = await db.query<{ id: string; reason: string; source: string }>(
    `SELECT id, reason, source FROM suppressions
     WHERE tenant_id = $1 AND channel = $2 AND address = $3 AND (expires_at IS NULL OR expires_at > now())`,
    [tenantId, channel, normalized],
  );
  return rows[0] ?? null;
}
