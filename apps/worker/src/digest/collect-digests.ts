import type { Pool, PoolClient } from 'pg';
import { digestKeyOf, newId, type Channel, type ChannelRule, type DigestConfig } from '@herald/core';
import { inTransaction } from '@herald/db';
import { ensureDeliveryJob, type DeliveryQueues } from '@herald/queue';

/** What the fan-out plans for one recipient × channel (the fields a digest needs of it). */
export interface DigestCandidate {
  id: string;
  subscriberId: string | null;
  channel: Channel;
  status: string;
  lastError: string | null;
}

interface Joined {
  deliveryId: string;
  windowEnd: Date;
  /** still gathering: its delivery job must exist */
  open: boolean;
}

// The event was digested before (this is a redelivery of its fan-out): it stays where it went.
const DIGESTED_BEFORE = `
SELECT d.delivery_id AS "deliveryId", d.window_end AS "windowEnd", d.flushed_at IS NULL AS open
FROM digest_items i JOIN digests d ON d.id = i.digest_id
WHERE i.id = $1`;

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

/**
 * The fan-out's digest step. For each planned delivery on a channel the rule digests, the event is
 * gathered (durably, in Postgres) into the subscriber's open digest instead of being sent now: the
 * event that opens a digest keeps its delivery, due at the window's end, with a delayed job whose
 * id is that delivery's; the events that join get a `skipped` delivery naming the one they went
 * with. Returns what the fan-out still has to insert and enqueue. Idempotent: an item's id is the
 * delivery id the event would have had, so a fan-out run twice gathers an event once.
 */
export async function collectDigests<T extends DigestCandidate>(
  pool: Pool,
  queues: DeliveryQueues,
  event: { id: string; tenantId: string; type: string },
  channels: ChannelRule[],
  rows: T[],
): Promise<T[]> {
  const digests = new Map(channels.flatMap((c) => (c.digest ? [[c.channel, c.digest] as const] : [])));
  const digested = (row: T) => row.subscriberId !== null && row.status === 'queued' && digests.has(row.channel);
  if (!rows.some(digested)) return rows;

  const { rows: found } = await pool.query<{ data: Record<string, unknown> }>('SELECT data FROM events WHERE id = $1', [
    event.id,
  ]);
  const data = found[0]?.data ?? {};
  const out: T[] = [];
  for (const row of rows) {
    if (!digested(row)) {
      out.push(row);
      continue;
    }
    const config = digests.get(row.channel)!;
    const joined = await inTransaction(pool, (client) => join(client, event, row, config, data));
    if (joined.open) {
      const ref = { id: joined.deliveryId, tenantId: event.tenantId, channel: row.channel };
      await ensureDeliveryJob(queues, ref, joined.windowEnd.getTime() - Date.now());
    }
    // The opening event's delivery exists already; the others say where their event went.
    if (joined.deliveryId !== row.id) {
      out.push({ ...row, status: 'skipped', lastError: `digested: sent with delivery ${joined.deliveryId}` });
    }
  }
  return out;
}

async function join(
  client: PoolClient,
  event: { id: string; tenantId: string; type: string },
  row: DigestCandidate,
  config: DigestConfig,
  data: Record<string, unknown>,
): Promise<Joined> {
  const before = await client.query<Joined>(DIGESTED_BEFORE, [row.id]);
  if (before.rows[0]) return before.rows[0];
  const key = digestKeyOf(config, event.type, data);
  const { rows } = await client.query<{ id: string; deliveryId: string; windowEnd: Date; opened: boolean }>(
    JOIN_OR_OPEN,
    [newId(), event.tenantId, row.subscriberId, row.channel, key, config.windowSeconds, row.id],
  );
  const digest = rows[0];
  if (digest.opened) {
    await client.query(INSERT_DIGEST_DELIVERY, [
      digest.deliveryId,
      event.tenantId,
      event.id,
      row.subscriberId,
      row.channel,
      digest.windowEnd,
    ]);
  }
  await client.query(ADD_ITEM, [row.id, digest.id, event.id]);
  return { deliveryId: digest.deliveryId, windowEnd: digest.windowEnd, open: true };
}
