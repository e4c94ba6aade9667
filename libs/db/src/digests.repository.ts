import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { newId, type Channel } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { inTransaction } from './transaction';

/** One planned delivery the fan-out gathers into a digest instead of sending it now. */
export interface DigestItem {
  eventId: string;
  /** the delivery id the event would have had: the item's id, so gathering an event twice is a no-op */
  deliveryId: string;
  subscriberId: string;
  channel: Channel;
}

/** Where an event went: the digest's one delivery, due when its window ends. */
export interface JoinedDigest {
  deliveryId: string;
  windowEnd: Date;
  /** still gathering: its delivery job must exist */
  open: boolean;
}

const EVENT_DATA = `SELECT data FROM events WHERE id = $1 AND tenant_id = $2`;

// The event was digested before (this is a redelivery of its fan-out): it stays where it went.
const DIGESTED_BEFORE = `
SELECT d.delivery_id AS "deliveryId", d.window_end AS "windowEnd", d.flushed_at IS NULL AS open
FROM digest_items i JOIN digests d ON d.id = i.digest_id
WHERE i.id = $1 AND d.tenant_id = $2`;

// Joins the open digest of subscriber × channel × key, or opens one whose window starts now. The
// upsert locks the row until commit, so a flush (which closes the digest first) waits for the join,
// and a digest closed meanwhile no longer conflicts: a new one opens.
const JOIN_OR_OPEN = `
INSERT INTO digests (id, tenant_id, subscriber_id, channel, digest_key, open_key, window_end, delivery_id)
VALUES ($1, $2, $3, $4, $5, $5, now() + make_interval(secs => $6), $7)
ON CONFLICT (tenant_id, subscriber_id, channel, open_key) DO UPDATE SET open_key = EXCLUDED.open_key
RETURNING id, delivery_id AS "deliveryId", window_end AS "windowEnd", (xmax = 0) AS opened`;

// The digest's one delivery is the opening event's own, due when the window ends.
const INSERT_DIGEST_DELIVERY = `
INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, not_before)
VALUES ($1, $2, $3, $4, $5, 'queued', $6)
ON CONFLICT (id) DO NOTHING`;

const ADD_ITEM = `INSERT INTO digest_items (id, digest_id, event_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`;

// Closing first takes the digest's row lock: a fan-out still joining an event commits before this
// goes on, and one that comes later finds no open digest and starts a new one.
const CLOSE = `UPDATE digests SET open_key = NULL, flushed_at = COALESCE(flushed_at, now()) WHERE id = $1`;

// Events cancelled after they joined are left out (a digest of only those is not sent at all).
const GATHERED = `
SELECT e.data FROM digest_items i JOIN events e ON e.id = i.event_id
WHERE i.digest_id = $1 AND e.status <> 'cancelled'
ORDER BY e.created_at, e.id`;

/**
 * Digests: events gathered (durably, in Postgres) per subscriber × channel × key into one delivery. The
 * fan-out's methods take the tenant id; closing and reading a digest are system methods, keyed by the digest
 * id that the claimed delivery's context names (docs/architecture.md: a worker holds a claim, not a tenant's data).
 */
@Injectable()
export class DigestsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The event's data, which a digest key may be taken from ({} when the event is gone). */
  async eventData(tenantId: string, eventId: string): Promise<Record<string, unknown>> {
    const { rows } = await this.pool.query<{ data: Record<string, unknown> }>(EVENT_DATA, [eventId, tenantId]);
    return rows[0]?.data ?? {};
  }

  /**
   * Gathers an event into the subscriber's open digest of `key`, or opens one (with its delivery, due in
   * `windowSeconds`), in one transaction; an event gathered before stays where it went.
   */
  join(tenantId: string, item: DigestItem, key: string, windowSeconds: number): Promise<JoinedDigest> {
    return inTransaction(this.pool, (client) => this.joinIn(client, tenantId, item, key, windowSeconds));
  }

  private async joinIn(
    client: PoolClient,
    tenantId: string,
    item: DigestItem,
    key: string,
    windowSeconds: number,
  ): Promise<JoinedDigest> {
    const before = await client.query<JoinedDigest>(DIGESTED_BEFORE, [item.deliveryId, tenantId]);
    if (before.rows[0]) return before.rows[0];
    const { rows } = await client.query<{ id: string; deliveryId: string; windowEnd: Date; opened: boolean }>(
      JOIN_OR_OPEN,
      [newId(), tenantId, item.subscriberId, item.channel, key, windowSeconds, item.deliveryId],
    );
    const digest = rows[0];
    if (digest.opened) {
      await client.query(INSERT_DIGEST_DELIVERY, [
        digest.deliveryId,
        tenantId,
        item.eventId,
        item.subscriberId,
        item.channel,
        digest.windowEnd,
      ]);
    }
    await client.query(ADD_ITEM, [item.deliveryId, digest.id, item.eventId]);
    return { deliveryId: digest.deliveryId, windowEnd: digest.windowEnd, open: true };
  }

  /** System: closes the digest (it takes no more events); safe to run again, the first flush time stays. */
  async close(digestId: string): Promise<void> {
    await this.pool.query(CLOSE, [digestId]);
  }

  /** System: the data of each event the digest gathered and still to be sent, oldest first. */
  async gathered(digestId: string): Promise<Record<string, unknown>[]> {
    const { rows } = await this.pool.query<{ data: Record<string, unknown> }>(GATHERED, [digestId]);
    return rows.map((r) => r.data);
  }
}
