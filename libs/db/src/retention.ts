import type { Pool, PoolClient } from 'pg';
import { DELIVERY_STATUSES, isTerminal } from '@herald/core';

/**
 * Retention: the statements of the housekeeping role's purge (docs/production.md, "Retention"). A system repository
 * (docs/architecture.md, "Tenant-scoped and system repositories"): purging spans tenants by nature, so nothing here takes a tenant id.
 *
 * Each statement touches at most `limit` rows, found through an index that holds only candidates
 * (migration 20261207030000_retention), and locks them with SKIP LOCKED: a purge never waits for a row
 * that ingest or delivery is working on, and holds its own locks for one short statement.
 */

type Queryable = Pool | PoolClient;

/**
 * States after which a delivery does nothing more on its own. `dead` is terminal too, but a dead
 * letter stays replayable until it expires (expireDeadLetters), so it keeps its event until then.
 */
export const DONE_DELIVERY_STATUSES: readonly string[] = DELIVERY_STATUSES.filter((s) => isTerminal(s) && s !== 'dead');

// Keys are released by clearing them on their event (which stays): the same key is then a new event.
export const RELEASE_IDEMPOTENCY_KEYS = `
UPDATE events SET idempotency_key = NULL, request_hash = NULL
WHERE id IN (
  SELECT id FROM events
  WHERE idempotency_key IS NOT NULL AND created_at < now() - make_interval(secs => $1)
  ORDER BY created_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

/** Releases up to `limit` idempotency keys whose event came more than `olderThanSeconds` ago. */
export async function releaseIdempotencyKeys(db: Queryable, olderThanSeconds: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(RELEASE_IDEMPOTENCY_KEYS, [olderThanSeconds, limit]);
  return rowCount ?? 0;
}

// Dead letters expire through DeliveriesRepository.expireDeadLetters(): it is the one writer of a delivery's status.

// Finished events whose time has come (or whose hold ran out), oldest first, each judged: still in use
// when it is scheduled for later, has a delivery not done (in motion, or a dead letter still
// replayable), an outbox row not yet published, or sits in a digest whose delivery is not done (the
// digest reads its data when sent, and again on a retry). An event in use is held — not looked at again
// before an hour from now, the moment its latest dead letter expires, or its sendAt — so the events
// still in use never pile up at the head of the index and every pass moves on. `accepted` events
// (fan-out not done: scheduled, or a topic fan-out still in batches) are never candidates.
export const PICK_PURGEABLE_EVENTS = `
WITH due AS (
  SELECT id, send_at FROM events
  WHERE status IN ('routed', 'unrouted', 'cancelled') AND retained_until IS NULL
    AND updated_at < now() - make_interval(secs => $1::float8)
  ORDER BY updated_at
  LIMIT $2
  FOR NO KEY UPDATE SKIP LOCKED
), due_again AS (
  SELECT id, send_at FROM events
  WHERE retained_until < now()
  ORDER BY retained_until
  LIMIT $2
  FOR NO KEY UPDATE SKIP LOCKED
), looked AS (
  SELECT c.id,
    (SELECT max(d.updated_at) FROM deliveries d WHERE d.event_id = c.id AND d.status = 'dead') AS died,
    COALESCE(c.send_at > now(), false)
      OR EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = c.id AND d.status <> ALL ($3::text[]))
      OR EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = c.id AND o.published_at IS NULL)
      OR EXISTS (
        SELECT 1 FROM digest_items i
          JOIN digests g ON g.id = i.digest_id
          JOIN deliveries gd ON gd.id = g.delivery_id
        WHERE i.event_id = c.id AND gd.status <> ALL ($3::text[])) AS in_use
  FROM (SELECT * FROM due UNION ALL SELECT * FROM due_again) c
), held AS (
  UPDATE events e
  SET retained_until = GREATEST(
    now() + interval '1 hour',
    e.send_at,
    -- a dead letter: until it expires; when dead letters are kept for ever, a retention period from now
    CASE WHEN l.died IS NULL THEN NULL
      WHEN $4::float8 > 0 THEN l.died + make_interval(secs => $4::float8)
      ELSE now() + make_interval(secs => $1::float8) END)
  FROM looked l
  WHERE e.id = l.id AND l.in_use
)
SELECT id, in_use AS "inUse" FROM looked`;

/**
 * Looks at up to 2 × `limit` finished events older than `olderThanSeconds` (or whose hold ran out):
 * returns those that may go, and holds the rest. `deadLetterSeconds` is how long a dead letter stays
 * replayable (an event with one is held until then; 0: for ever).
 */
export async function pickPurgeableEvents(
  db: Queryable,
  opts: { olderThanSeconds: number; deadLetterSeconds: number; limit: number },
): Promise<{ purgeable: string[]; held: number }> {
  const { rows } = await db.query<{ id: string; inUse: boolean }>(PICK_PURGEABLE_EVENTS, [
    opts.olderThanSeconds,
    opts.limit,
    DONE_DELIVERY_STATUSES,
    opts.deadLetterSeconds,
  ]);
  return { purgeable: rows.filter((r) => !r.inUse).map((r) => r.id), held: rows.filter((r) => r.inUse).length };
}

// The deliveries of events found purgeable, a batch at a time (a broadcast's event has many); their
// attempts go with them (ON DELETE CASCADE), and so does a digest whose one delivery this is (its
// items with it). A delivery that is not done after all (picked a moment ago) is left, and keeps its event.
export const PURGE_DELIVERIES = `
WITH doomed AS (
  SELECT id FROM deliveries
  WHERE event_id = ANY ($1::uuid[]) AND status = ANY ($3::text[])
  LIMIT $2
  FOR UPDATE SKIP LOCKED
), digests_gone AS (
  DELETE FROM digests WHERE delivery_id IN (SELECT id FROM doomed)
)
DELETE FROM deliveries d USING doomed WHERE d.id = doomed.id`;

/** Deletes up to `limit` done deliveries (with their attempts) of the given events. */
export async function purgeDeliveries(db: Queryable, eventIds: string[], limit: number): Promise<number> {
  const { rowCount } = await db.query(PURGE_DELIVERIES, [eventIds, limit, DONE_DELIVERY_STATUSES]);
  return rowCount ?? 0;
}

// The events found purgeable whose deliveries are all gone, with their outbox rows (published) and
// their items in digests of other events' deliveries.
export const PURGE_EVENTS = `
WITH doomed AS (
  SELECT e.id FROM events e
  WHERE e.id = ANY ($1::uuid[]) AND e.status IN ('routed', 'unrouted', 'cancelled')
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
    AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.event_id = e.id AND o.published_at IS NULL)
  FOR UPDATE SKIP LOCKED
), outbox_gone AS (
  DELETE FROM outbox WHERE event_id IN (SELECT id FROM doomed)
), items_gone AS (
  DELETE FROM digest_items WHERE event_id IN (SELECT id FROM doomed)
)
DELETE FROM events e USING doomed WHERE e.id = doomed.id`;

/** Deletes those of the given (purgeable) events that have no delivery left. */
export async function purgeEvents(db: Queryable, eventIds: string[]): Promise<number> {
  const { rowCount } = await db.query(PURGE_EVENTS, [eventIds]);
  return rowCount ?? 0;
}

// Archived messages have left every listing and count of the subscriber's inbox; unarchived ones stay.
export const PURGE_ARCHIVED_INBOX_MESSAGES = `
DELETE FROM inbox_messages
WHERE id IN (
  SELECT id FROM inbox_messages
  WHERE archived_at < now() - make_interval(secs => $1)
  ORDER BY archived_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

/** Deletes up to `limit` inbox messages archived more than `olderThanSeconds` ago. */
export async function purgeArchivedInboxMessages(
  db: Queryable,
  olderThanSeconds: number,
  limit: number,
): Promise<number> {
  const { rowCount } = await db.query(PURGE_ARCHIVED_INBOX_MESSAGES, [olderThanSeconds, limit]);
  return rowCount ?? 0;
}

// Once published, an outbox row is only a log of the relay's work: nothing reads it again (the
// stuck-event sweep reads the events, and takes an event without an outbox row as long published).
export const PURGE_PUBLISHED_OUTBOX = `
DELETE FROM outbox
WHERE id IN (
  SELECT id FROM outbox
  WHERE published_at < now() - make_interval(secs => $1)
  ORDER BY published_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

/** Deletes up to `limit` outbox rows published more than `olderThanSeconds` ago. */
export async function purgePublishedOutbox(db: Queryable, olderThanSeconds: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(PURGE_PUBLISHED_OUTBOX, [olderThanSeconds, limit]);
  return rowCount ?? 0;
}

// Provider signals as received (bounces, complaints, receipts, opt-outs): kept as long as events are,
// counted from when they came. What they caused (a suppression, a delivery's status) stays.
export const PURGE_FEEDBACK_EVENTS = `
DELETE FROM feedback_events
WHERE id IN (
  SELECT id FROM feedback_events
  WHERE created_at < now() - make_interval(secs => $1)
  ORDER BY created_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

/** Deletes up to `limit` feedback events received more than `olderThanSeconds` ago. */
export async function purgeFeedbackEvents(db: Queryable, olderThanSeconds: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(PURGE_FEEDBACK_EVENTS, [olderThanSeconds, limit]);
  return rowCount ?? 0;
}
