import type { Pool, PoolClient } from 'pg';
import { newId, normalizeAddress, type SuppressibleChannel } from '@herald/core';

type Queryable = Pool | PoolClient;

/**
 * Suppression reasons from weakest to strongest: where two signals meet on one address, the entry keeps
 * the stronger. `manual` is an operator's decision and may be temporary. The provider's proof that the
 * address is dead (`invalid_address`, `hard_bounce`) is permanent. The person's own wish (`complaint`,
 * `opt_out`) is permanent and strongest: sending against it is what recipients and the law do not
 * forgive, and it is the one reason the person can lift again (an opt-in after an opt-out).
 */
export const SUPPRESSION_STRENGTH = ['manual', 'invalid_address', 'hard_bounce', 'complaint', 'opt_out'] as const;
export type SuppressionReason = (typeof SUPPRESSION_STRENGTH)[number];

export interface SuppressionInput {
  tenantId: string;
  channel: SuppressibleChannel;
  address: string;
  reason: SuppressionReason;
  /** who said so: smtp, ses, sendgrid, generic, twilio, admin */
  source: string;
  detail?: string;
  deliveryId?: string;
  /** none: until lifted (every provider signal); an operator's entry may end */
  expiresAt?: Date;
}

// An address has one entry, so a new signal is merged into the entry already there. An expired entry is
// renewed by the new signal as a whole; a live one is taken over (reason, source, detail, delivery id) by
// a stronger reason only, the first signal keeping it on a tie. Either way a live entry lasts as long as
// the longer of the two: a permanent signal clears an expiry, a temporary one never adds an expiry to a
// permanent entry or shortens a longer one. Only lifting (below) removes an entry.
const NEW_SIGNAL_WINS = `(suppressions.expires_at <= now()
  OR array_position($10::text[], EXCLUDED.reason) > array_position($10::text[], suppressions.reason))`;
const taken = (column: string) =>
  `${column} = CASE WHEN ${NEW_SIGNAL_WINS} THEN EXCLUDED.${column} ELSE suppressions.${column} END`;
const SUPPRESS = `
INSERT INTO suppressions (id, tenant_id, channel, address, reason, source, detail, delivery_id, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (tenant_id, channel, address) DO UPDATE SET
  ${['reason', 'source', 'detail', 'delivery_id'].map(taken).join(',\n  ')},
  expires_at = CASE
    WHEN suppressions.expires_at <= now() THEN EXCLUDED.expires_at
    WHEN suppressions.expires_at IS NULL OR EXCLUDED.expires_at IS NULL THEN NULL
    ELSE greatest(suppressions.expires_at, EXCLUDED.expires_at)
  END
RETURNING id`;

/**
 * Adds an address to the tenant's suppression list (normalized), merged with the entry already there
 * (see SUPPRESS). Returns the entry's id, or null when the address is not one of the channel's.
 */
export async function suppress(db: Queryable, input: SuppressionInput): Promise<string | null> {
  const address = normalizeAddress(input.channel, input.address);
  if (!address) return null;
  const { rows } = await db.query<{ id: string }>(SUPPRESS, [
    newId(),
    input.tenantId,
    input.channel,
    address,
    input.reason,
    input.source,
    input.detail ?? null,
    input.deliveryId ?? null,
    input.expiresAt ?? null,
    SUPPRESSION_STRENGTH,
  ]);
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
