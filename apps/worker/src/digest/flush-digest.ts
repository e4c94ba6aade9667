import type { Pool } from 'pg';

export interface DigestRender {
  /** the data of each gathered event, oldest first */
  events: Record<string, unknown>[];
  count: number;
}

// Closing first takes the digest's row lock: a fan-out still joining an event commits before this
// goes on, and one that comes later finds no open digest and starts a new one.
const CLOSE = `UPDATE digests SET open_key = NULL, flushed_at = COALESCE(flushed_at, now()) WHERE id = $1`;
// Events cancelled after they joined are left out (a digest of only those is not sent at all).
const ITEMS = `
SELECT e.data FROM digest_items i JOIN events e ON e.id = i.event_id
WHERE i.digest_id = $1 AND e.status <> 'cancelled'
ORDER BY e.created_at, e.id`;

/**
 * Closes a digest (it takes no more events) and reads what it gathered, for its one message. Run
 * when its delivery is about to be sent, so events that arrive while it waits (past its window, or
 * held by quiet hours) still join; safe to run again for a retry of the same delivery.
 */
export async function flushDigest(pool: Pool, digestId: string): Promise<DigestRender> {
  await pool.query(CLOSE, [digestId]);
  const { rows } = await pool.query<{ data: Record<string, unknown> }>(ITEMS, [digestId]);
  return { events: rows.map((r) => r.data), count: rows.length };
}
