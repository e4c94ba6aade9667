import type { Pool } from 'pg';
import { newId } from '@herald/core';

/** A delivery row as a test wants it: anything not given takes the table's default. */
export interface DeliveryFixture {
  tenantId: string;
  status: string;
  channel?: string;
  eventType?: string;
  subscriberId?: string;
  attempts?: number;
  lastError?: string | null;
  providerMessageId?: string | null;
  /** seconds ago it last changed */
  age?: number;
  leaseUntil?: Date | null;
}

/** Inserts an event and one delivery of it; returns the delivery's id. */
export async function insertDelivery(pool: Pool, d: DeliveryFixture): Promise<string> {
  const eventId = newId();
  const id = newId();
  await pool.query(`INSERT INTO events (id, tenant_id, type, recipients, status) VALUES ($1, $2, $3, '[]', 'routed')`, [
    eventId,
    d.tenantId,
    d.eventType ?? 'greet',
  ]);
  await pool.query(
    `INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, attempts, last_error,
       provider_message_id, lease_until, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now() - make_interval(secs => $11))`,
    [
      id,
      d.tenantId,
      eventId,
      d.subscriberId ?? 'ann',
      d.channel ?? 'email',
      d.status,
      d.attempts ?? 0,
      d.lastError ?? null,
      d.providerMessageId ?? null,
      d.leaseUntil ?? null,
      d.age ?? 0,
    ],
  );
  return id;
}

export interface DeliveryState {
  status: string;
  attempts: number;
  attemptFloor: number;
  lastError: string | null;
  notBefore: Date | null;
}

export async function deliveryState(pool: Pool, id: string): Promise<DeliveryState> {
  const { rows } = await pool.query<DeliveryState>(
    `SELECT status, attempts, attempt_floor AS "attemptFloor", last_error AS "lastError", not_before AS "notBefore"
     FROM deliveries WHERE id = $1`,
    [id],
  );
  return rows[0];
}

export async function insertTenants(pool: Pool, ...ids: string[]): Promise<void> {
  for (const id of ids) await pool.query(`INSERT INTO tenants (id, name) VALUES ($1, 'repository test')`, [id]);
}
