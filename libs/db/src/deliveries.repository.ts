import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { CLAIMABLE_STATUSES, nextStatuses, statusesThatMayBecome, type Channel } from '@herald/core';
import { PG_POOL } from './pg-pool';
import { filterOnly } from './filter-only';

type Queryable = Pool | PoolClient;

/**
 * DeliveriesRepository is the one writer of `deliveries.status`, and every change it makes is checked against
 * core's table (libs/core/src/delivery-status.ts) in the statement's own WHERE: a change the table forbids
 * matches no row. A claim's writes move a delivery out of `sending` (a leased claim), or out of a claimable
 * status through the `sending` their one write implies (a peeked claim): so they may end it only in what
 * `sending` may become. FINISH and HOLD_BACK take the status per row and check it in their WHERE; SEND_INAPP
 * (`sent`) and RELEASE (`queued`) write a fixed one, checked here once, as the module loads.
 */
const CLAIM_ENDS = nextStatuses('sending');
for (const fixed of ['sent', 'queued'] as const) {
  if (!CLAIM_ENDS.includes(fixed)) throw new Error(`delivery-status table: a claim may no longer end ${fixed}`);
}

/** A delivery the fan-out means to exist: `skipped` (with the reason) when preferences opt it out. */
export interface PlannedDelivery {
  id: string;
  eventId: string;
  subscriberId: string | null;
  endpointId: string | null;
  channel: Channel;
  status: 'queued' | 'skipped';
  lastError: string | null;
}

export interface PendingDelivery {
  id: string;
  eventId: string;
  channel: Channel;
}

export interface ClaimedDelivery {
  id: string;
  tenantId: string;
  eventId: string;
  subscriberId: string | null;
  endpointId: string | null;
  channel: Channel;
  /**
   * The claim's number: its fencing token. Every write that ends or extends the claim must match it: a
   * leased claim (claim()) already counted it, a peeked one (peek()) counts it when it ends.
   */
  attempt: number;
  /** attempts made before the last dead-letter replay: the retry budget counts from here */
  attemptFloor: number;
  /** held under a lease (`sending`), or only peeked at: an in-app delivery is sent in one write, no lease */
  leased: boolean;
}

export interface ClaimResult {
  claimed: ClaimedDelivery[];
  /** held by another worker's live lease: look again when it runs out */
  leased: { id: string; leaseUntil: Date }[];
  /** not claimable (sent, dead, skipped…, or gone), with the status found */
  settled: { id: string; status: string }[];
}

export interface AttemptRecord {
  outcome: 'ok' | 'retryable' | 'permanent' | 'bad_address';
  /** which provider answered, e.g. 'smtp', 'twilio' */
  provider?: string;
  code?: string;
  message?: string;
}

/** How a claim ends: the outcome, and the attempt row when a provider (or Herald) was asked. */
export interface DeliveryEnd {
  /** `queued`: handed back for a retry; the others end the claim for good */
  status: 'sent' | 'failed' | 'dead' | 'skipped' | 'suppressed' | 'queued';
  attempt?: AttemptRecord;
  providerMessageId?: string;
  /** why it did not go out (stored as last_error; defaults to the attempt's message) */
  reason?: string;
  /** `queued` for a retry: when it is due */
  notBefore?: Date;
}

/** A claim ended without an attempt: waiting (quiet hours, a rate-limit window) or dropped by the limit. */
export interface HoldBack {
  status: 'deferred' | 'rate_limited';
  reason: string;
  notBefore?: Date;
}

export interface InappMessage {
  title: string;
  body: string;
  url: string | null;
  data: Record<string, unknown>;
}

export interface InboxItem extends InappMessage {
  id: string;
  createdAt: Date;
}

/**
 * Whether a delivery may be claimed: in one of the claimable statuses, or `sending` under a lease that ran
 * out (its worker died). A CASE, so that it stays a filter on rows found by primary key (see filter-only.ts):
 * written as an OR of statuses it let the planner read the whole partial index of deliveries in motion.
 */
function claimable(row: string, statuses: string): string {
  return `CASE WHEN ${row}status = 'sending' THEN ${row}lease_until < now() ELSE ${row}status = ANY(${statuses}) END`;
}

// The claim is the exactly-once gate: one conditional UPDATE wins; a delivery already sent (or held by
// a live claimant) is not claimable, and one whose lease ran out (its worker died) is taken over, so a
// crash never strands a delivery in `sending`. The same statement says what became of the others (the
// outer SELECT reads the rows as they were before the UPDATE). Ids are sorted by the caller's array
// order and locked in index order, so two claims of overlapping batches cannot deadlock.
const CLAIM = `
WITH claimed AS (
  UPDATE deliveries
  SET status = 'sending', attempts = attempts + 1, lease_until = now() + make_interval(secs => $3), updated_at = now()
  WHERE id = ANY($2::uuid[]) AND ${filterOnly('tenant_id', '$1')} AND ${claimable('', '$4::text[]')}
  RETURNING id, event_id, subscriber_id, endpoint_id, channel, attempts, attempt_floor
)
SELECT d.id, d.status, d.lease_until AS "leaseUntil", c.id IS NOT NULL AS claimed, c.event_id AS "eventId",
  c.subscriber_id AS "subscriberId", c.endpoint_id AS "endpointId", c.channel, c.attempts AS attempt,
  c.attempt_floor AS "attemptFloor"
FROM deliveries d LEFT JOIN claimed c ON c.id = d.id
WHERE d.id = ANY($2::uuid[]) AND ${filterOnly('d.tenant_id', '$1')}`;

// An in-app delivery needs no lease: it is written in one statement, and that statement is the gate. Its
// batch only peeks (what is claimable, at which attempt), and its writes take effect only while the
// delivery is still as it was peeked: claimable, with the attempts seen.
const PEEK = `
SELECT id, status, lease_until AS "leaseUntil", event_id AS "eventId", subscriber_id AS "subscriberId",
  endpoint_id AS "endpointId", channel, attempts, attempt_floor AS "attemptFloor",
  ${claimable('', '$3::text[]')} AS claimable
FROM deliveries WHERE id = ANY($2::uuid[]) AND ${filterOnly('tenant_id', '$1')}`;

/**
 * Every write that ends or extends a claim is fenced by the claim's attempt number: a worker whose lease
 * ran out (a long send, a blocked event loop) and was taken over must not overwrite its successor's
 * outcome. A leased claim incremented `attempts` (a successor's claim increments it again, so the old
 * claimant's writes match no row); a peeked one must still find the delivery claimable at the attempts it
 * saw (i.attempt - 1), and counts its attempt as it ends. $1 of each statement: the claimable statuses.
 */
const FENCED = `CASE WHEN i.leased THEN d.status = 'sending' AND d.attempts = i.attempt
  ELSE d.attempts = i.attempt - 1 AND ${claimable('d.', '$1::text[]')} END`;

// The ends of many claims and their attempt rows, in one statement (one round trip, one commit). An
// attempt row already there (a retried write) stays; a fenced-out claim still records its attempt, as the
// provider was asked, but decides nothing (so does an end the status table does not allow: $13).
const FINISH = `
WITH i AS (
  SELECT * FROM unnest($2::uuid[], $3::int[], $4::bool[], $5::text[], $6::text[], $7::text[], $8::timestamptz[],
    $9::text[], $10::text[], $11::text[], $12::text[])
    AS t(id, attempt, leased, status, provider_message_id, last_error, not_before, outcome, provider, code, message)
), finished AS (
  UPDATE deliveries d SET status = i.status, attempts = i.attempt, lease_until = NULL, updated_at = now(),
    sent_at = CASE WHEN i.status = 'sent' THEN now() ELSE d.sent_at END,
    provider_message_id = COALESCE(i.provider_message_id, d.provider_message_id),
    last_error = CASE WHEN i.status = 'sent' THEN NULL ELSE i.last_error END,
    not_before = i.not_before
  FROM i WHERE d.id = i.id AND ${FENCED} AND i.status = ANY($13::text[])
  RETURNING d.id
), attempted AS (
  INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, code, message)
  SELECT id, attempt, outcome, provider, code, message FROM i WHERE outcome IS NOT NULL
  ON CONFLICT (delivery_id, attempt) DO NOTHING
)
SELECT id FROM finished`;

// In-app: the `sent` statuses of a whole batch, and — for the deliveries that statement took, so never twice —
// their inbox rows (id = delivery id) and attempts, in one statement: atomic, one round trip for any number.
// The inbox rows are written under $2, so the UPDATE takes only that tenant's deliveries. `d.id = ANY($3)` repeats
// the join's key for the planner: with the tenant check alone it read the whole table (batch-plans.test.ts).
const SEND_INAPP = `
WITH i AS (
  SELECT * FROM unnest($3::uuid[], $4::int[], $5::bool[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[],
    $11::jsonb[])
    AS t(id, attempt, leased, event_id, subscriber_id, title, body, url, data)
), finished AS (
  UPDATE deliveries d SET status = 'sent', attempts = i.attempt, lease_until = NULL, updated_at = now(),
    sent_at = now(), last_error = NULL, not_before = NULL
  FROM i WHERE d.id = i.id AND d.id = ANY($3::uuid[]) AND ${FENCED} AND ${filterOnly('d.tenant_id', '$2')}
  RETURNING d.id
), message AS (
  INSERT INTO inbox_messages (id, tenant_id, subscriber_id, event_id, title, body, url, data)
  SELECT i.id, $2, i.subscriber_id, i.event_id, i.title, i.body, i.url, i.data FROM i JOIN finished USING (id)
  ON CONFLICT (id) DO NOTHING
  RETURNING id, subscriber_id AS "subscriberId", title, body, url, data, created_at AS "createdAt"
), attempted AS (
  INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider)
  SELECT i.id, i.attempt, 'ok', 'inapp' FROM i JOIN finished USING (id)
  ON CONFLICT (delivery_id, attempt) DO NOTHING
)
SELECT * FROM message`;

// A claim ended without an attempt: the attempt a lease took is given back (a peek took none), and the
// hold-back kept (shown in the delivery's timeline after it is sent).
const HOLD_BACK = `
UPDATE deliveries d SET status = i.status, attempts = i.attempt - 1, lease_until = NULL, last_error = i.reason,
  not_before = i.not_before, updated_at = now(),
  last_deferral = jsonb_build_object('at', now(), 'status', i.status, 'reason', i.reason, 'until', i.not_before)
FROM unnest($2::uuid[], $3::int[], $4::bool[], $5::text[], $6::text[], $7::timestamptz[])
  AS i(id, attempt, leased, status, reason, not_before)
WHERE d.id = i.id AND ${FENCED} AND i.status = ANY($8::text[])`;

const RELEASE = `
UPDATE deliveries d SET status = 'queued', lease_until = NULL, updated_at = now()
FROM unnest($2::uuid[], $3::int[], $4::bool[]) AS i(id, attempt, leased)
WHERE d.id = i.id AND i.leased AND ${FENCED}`;

const RENEW = `
UPDATE deliveries d SET lease_until = now() + make_interval(secs => $5)
FROM unnest($2::uuid[], $3::int[], $4::bool[]) AS i(id, attempt, leased)
WHERE d.id = i.id AND i.leased AND ${FENCED}
RETURNING d.id`;

// A failover inside one run: the failed provider's attempt row, and the claim moved on to the next
// attempt number (its lease renewed), in one statement; nothing when the claim was lost meanwhile.
const FAIL_OVER = `
WITH next AS (
  UPDATE deliveries SET attempts = attempts + 1, lease_until = now() + make_interval(secs => $2), updated_at = now()
  WHERE id = $1 AND status = 'sending' AND attempts = $3
  RETURNING attempts
), attempted AS (
  INSERT INTO delivery_attempts (delivery_id, attempt, outcome, provider, code, message)
  SELECT $1, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM next)
  ON CONFLICT (delivery_id, attempt) DO NOTHING
)
SELECT attempts FROM next`;

// Ids are deterministic per event × recipient × channel, so a recipient reached twice (directly and
// through a topic), or a fan-out run twice, adds nothing the second time. Deliveries are written `queued`:
// handed to a queue right after this statement (a crash in between leaves them `queued` with no job; the
// fan-out's rerun hands them on again, or the housekeeping sweep does). The statement answers what of these
// ids is `queued` — what it inserted, and what an earlier run left — so a rerun hands on exactly that.
// A CTE's inserts are not visible to its sibling SELECT, hence the UNION.
const INSERT_PLANNED = `
WITH inserted AS (
  INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, endpoint_id, channel, status, last_error)
  SELECT id, $2, event_id, subscriber_id, endpoint_id, channel, status, last_error
  FROM unnest($1::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[])
    AS d(id, event_id, subscriber_id, endpoint_id, channel, status, last_error)
  ORDER BY id
  ON CONFLICT (id) DO NOTHING
  RETURNING id, event_id, channel, status
)
SELECT id, event_id AS "eventId", channel FROM inserted WHERE status = 'queued'
UNION
SELECT id, event_id, channel FROM deliveries
WHERE id = ANY($1::uuid[]) AND ${filterOnly('tenant_id', '$2')} AND ${filterOnly('status', "'queued'")}`;

/** A delivery to hand to its channel's queue (the fields of a DeliveryRef of @herald/queue). */
export interface DeliveryToQueue {
  id: string;
  tenantId: string;
  channel: Channel;
}

/** A dead delivery as the dead-letter queue's copy shows it (a DeadLetterJob of @herald/queue). */
export interface DeadLetterCopy {
  deliveryId: string;
  tenantId: string;
  eventId: string;
  channel: Channel;
  attempts: number;
  lastError: string | null;
}

/** How many dead letters one replayDeadMatching() statement revives. */
const REPLAY_BATCH = 500;

// A replay gives the delivery a fresh retry budget (attempt_floor) and keeps its attempt history. $1: the
// statuses the table lets become `queued`, among dead letters (a replay takes nothing else).
const REVIVE = `
UPDATE deliveries d SET status = 'queued', attempt_floor = d.attempts, last_error = NULL, not_before = NULL,
  lease_until = NULL, updated_at = now()
FROM picked WHERE d.id = picked.id AND d.status = ANY($1::text[])
RETURNING d.id, d.tenant_id AS "tenantId", d.channel`;

const REPLAY_ONE = `
WITH picked AS (SELECT id FROM deliveries WHERE tenant_id = $2 AND id = $3 FOR UPDATE)
${REVIVE}`;

// SKIP LOCKED: two replays racing over the same filter split the rows instead of both taking them.
const REPLAY_MATCHING = `
WITH picked AS (
  SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
  WHERE d.tenant_id = $2 AND d.status = 'dead' AND d.updated_at < $3
    AND ($4::text IS NULL OR d.channel = $4) AND ($5::text IS NULL OR e.type = $5)
  ORDER BY d.updated_at
  LIMIT ${REPLAY_BATCH}
  FOR UPDATE OF d SKIP LOCKED)
${REVIVE}`;

// The operator gives up on a dead letter: dead → failed, the reason kept.
const PURGE_DEAD = `
UPDATE deliveries SET status = 'failed', updated_at = now(),
  last_error = 'purged from the dead-letter queue' || COALESCE(': ' || last_error, '')
WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])`;

// A provider's receipt about a sent delivery: delivered, or failed (a bounce, a carrier's "no"). $3: the
// statuses the table lets become the receipt's status, among `sent` (a receipt acts on nothing else).
const APPLY_RECEIPT = `
UPDATE deliveries SET status = $4, last_error = COALESCE($5, last_error), updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])`;

// A carrier's "try again later" about a sent delivery, within the retry budget: queued again, due after the delay.
const RETRY_AFTER_RECEIPT = `
UPDATE deliveries SET status = 'queued', last_error = $4, not_before = now() + make_interval(secs => $5),
  updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND status = ANY($3::text[])`;

// The housekeeping sweep re-enqueued these stuck deliveries: the `pending` ones among them are now queued.
export const MARK_STUCK_QUEUED = `UPDATE deliveries SET status = 'queued', updated_at = now() WHERE id = ANY($1::uuid[]) AND status = ANY($2::text[])`;

// As an operator's purge of a dead letter does (dead → failed, the reason kept), with its own words. The
// candidates are found through deliveries_dead_idx (status 'dead'); $3, the table's check, filters the change.
export const EXPIRE_DEAD_LETTERS = `
UPDATE deliveries SET status = 'failed', updated_at = now(),
  last_error = 'expired from the dead-letter queue' || COALESCE(': ' || last_error, '')
WHERE id IN (
  SELECT id FROM deliveries
  WHERE status = 'dead' AND updated_at < now() - make_interval(secs => $1)
  ORDER BY updated_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED)
  AND status = ANY($3::text[])
RETURNING id`;

// The dead ones among these deliveries, as the dead-letter queue shows them.
const DEAD_LETTER_COPIES = `
SELECT id AS "deliveryId", tenant_id AS "tenantId", event_id AS "eventId", channel, attempts, last_error AS "lastError"
FROM deliveries WHERE id = ANY($1::uuid[]) AND status = 'dead'`;

/**
 * The delivery path's writes to `deliveries` (and the attempt rows and inbox messages that go with them),
 * a method per statement, each a single round trip for a whole batch. Tenant-scoped where the caller has
 * one tenant's work (fan-out, claims); the claim's own writes are keyed by delivery id and fenced by the
 * claim's attempt number (docs/architecture.md, system repositories: a worker holds a claim, not a tenant's data at large).
 * It is also every other writer of a delivery's status, each change checked against core's table (see CLAIM_ENDS):
 * an operator's replay or purge of a dead letter and a provider's receipt (tenant-scoped), and, marked as system
 * methods at the end, the housekeeping sweep's and retention's.
 */
@Injectable()
export class DeliveriesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Inserts the planned deliveries `queued` (or `skipped`); returns what of them is `queued`, to hand on. */
  async insertPlanned(tenantId: string, rows: PlannedDelivery[]): Promise<PendingDelivery[]> {
    if (!rows.length) return [];
    const { rows: queued } = await this.pool.query<PendingDelivery>({
      name: 'deliveries-insert-planned',
      text: INSERT_PLANNED,
      values: [
        rows.map((r) => r.id),
        tenantId,
        rows.map((r) => r.eventId),
        rows.map((r) => r.subscriberId),
        rows.map((r) => r.endpointId),
        rows.map((r) => r.channel),
        rows.map((r) => r.status),
        rows.map((r) => r.lastError),
      ],
    });
    return queued;
  }

  /** Claims what of `ids` is claimable, under a lease of `leaseSeconds`; says what became of the rest. */
  async claim(tenantId: string, ids: string[], leaseSeconds: number): Promise<ClaimResult> {
    const { rows } = await this.pool.query<ClaimRow & { claimed: boolean }>({
      name: 'deliveries-claim',
      text: CLAIM,
      values: [tenantId, [...ids].sort(), leaseSeconds, CLAIMABLE_STATUSES],
    });
    return claimResult(tenantId, ids, rows, (row) => (row.claimed ? claimOf(row, row.attempt, true) : null));
  }

  /**
   * What of `ids` is claimable, without claiming: for in-app, whose one write per batch is its own gate
   * (each delivery's attempt is the one after those seen). Says what became of the rest, as claim() does.
   */
  async peek(tenantId: string, ids: string[]): Promise<ClaimResult> {
    const { rows } = await this.pool.query<Omit<ClaimRow, 'attempt'> & { attempts: number; claimable: boolean }>({
      name: 'deliveries-peek',
      text: PEEK,
      values: [tenantId, ids, CLAIMABLE_STATUSES],
    });
    return claimResult(tenantId, ids, rows, (row) => (row.claimable ? claimOf(row, row.attempts + 1, false) : null));
  }

  /** Ends claims and records their attempts; returns the ids whose claim was still theirs to end. */
  async finish(
    ends: { delivery: ClaimedDelivery; end: DeliveryEnd }[],
    client: Queryable = this.pool,
  ): Promise<Set<string>> {
    if (!ends.length) return new Set();
    const sorted = [...ends].sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1));
    const { rows } = await client.query<{ id: string }>({
      name: 'deliveries-finish',
      text: FINISH,
      values: [
        CLAIMABLE_STATUSES,
        sorted.map((e) => e.delivery.id),
        sorted.map((e) => e.delivery.attempt),
        sorted.map((e) => e.delivery.leased),
        sorted.map((e) => e.end.status),
        sorted.map((e) => e.end.providerMessageId ?? null),
        sorted.map((e) => e.end.reason ?? e.end.attempt?.message ?? null),
        sorted.map((e) => e.end.notBefore ?? null),
        sorted.map((e) => e.end.attempt?.outcome ?? null),
        sorted.map((e) => e.end.attempt?.provider ?? null),
        sorted.map((e) => e.end.attempt?.code ?? null),
        sorted.map((e) => e.end.attempt?.message ?? null),
        CLAIM_ENDS,
      ],
    });
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Writes in-app messages and ends their claims `sent`, for one tenant's batch; returns the inbox items
   * written now (none for a delivery whose message exists already).
   */
  async sendInapp(
    tenantId: string,
    sends: { delivery: ClaimedDelivery; message: InappMessage }[],
  ): Promise<(InboxItem & { subscriberId: string })[]> {
    if (!sends.length) return [];
    const sorted = [...sends].sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1));
    const { rows } = await this.pool.query<InboxItem & { subscriberId: string }>({
      name: 'deliveries-send-inapp',
      text: SEND_INAPP,
      values: [
        CLAIMABLE_STATUSES,
        tenantId,
        sorted.map((s) => s.delivery.id),
        sorted.map((s) => s.delivery.attempt),
        sorted.map((s) => s.delivery.leased),
        sorted.map((s) => s.delivery.eventId),
        sorted.map((s) => s.delivery.subscriberId),
        sorted.map((s) => s.message.title),
        sorted.map((s) => s.message.body),
        sorted.map((s) => s.message.url),
        sorted.map((s) => JSON.stringify(s.message.data)),
      ],
    });
    return rows;
  }

  /** Ends claims that made no attempt: deferred until `notBefore`, or dropped by the rate limit. */
  async holdBack(holds: { delivery: ClaimedDelivery; hold: HoldBack }[]): Promise<void> {
    if (!holds.length) return;
    await this.pool.query({
      name: 'deliveries-hold-back',
      text: HOLD_BACK,
      values: [
        CLAIMABLE_STATUSES,
        holds.map((h) => h.delivery.id),
        holds.map((h) => h.delivery.attempt),
        holds.map((h) => h.delivery.leased),
        holds.map((h) => h.hold.status),
        holds.map((h) => h.hold.reason),
        holds.map((h) => h.hold.notBefore ?? null),
        CLAIM_ENDS,
      ],
    });
  }

  /** Hands claims back (the database hiccuped mid-batch) so a retry can claim them at once. */
  async release(deliveries: ClaimedDelivery[]): Promise<void> {
    if (!deliveries.length) return;
    await this.pool.query(RELEASE, [
      CLAIMABLE_STATUSES,
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.attempt),
      deliveries.map((d) => d.leased),
    ]);
  }

  /** Extends the claims' leases while their sends run; returns the ids still held (the rest were taken over). */
  async renewLeases(deliveries: ClaimedDelivery[], leaseSeconds: number): Promise<Set<string>> {
    if (!deliveries.length) return new Set();
    const { rows } = await this.pool.query<{ id: string }>(RENEW, [
      CLAIMABLE_STATUSES,
      deliveries.map((d) => d.id),
      deliveries.map((d) => d.attempt),
      deliveries.map((d) => d.leased),
      leaseSeconds,
    ]);
    return new Set(rows.map((r) => r.id));
  }

  /** Records a retryable answer and takes the next attempt number; null when the claim was lost. */
  async failOver(
    delivery: ClaimedDelivery,
    attempt: AttemptRecord,
    leaseSeconds: number,
  ): Promise<ClaimedDelivery | null> {
    const { rows } = await this.pool.query<{ attempts: number }>(FAIL_OVER, [
      delivery.id,
      leaseSeconds,
      delivery.attempt,
      attempt.outcome,
      attempt.provider ?? null,
      attempt.code ?? null,
      attempt.message ?? null,
    ]);
    return rows[0] ? { ...delivery, attempt: rows[0].attempts } : null;
  }

  /**
   * Replays one dead letter (→ queued, a fresh retry budget); returns it, or nothing when it is not dead
   * (or not the tenant's). The row is locked first, so a concurrent replay or purge waits and then finds it changed.
   */
  async replayDead(tenantId: string, deliveryId: string): Promise<DeliveryToQueue[]> {
    const { rows } = await this.pool.query<DeliveryToQueue>(REPLAY_ONE, [
      statusesThatMayBecome('queued', ['dead']),
      tenantId,
      deliveryId,
    ]);
    return rows;
  }

  /** Replays up to REPLAY_BATCH of the tenant's dead letters that died before `before` and match the filter. */
  async replayDeadMatching(
    tenantId: string,
    filter: { before: Date; channel: Channel | null; eventType: string | null },
  ): Promise<DeliveryToQueue[]> {
    const { rows } = await this.pool.query<DeliveryToQueue>(REPLAY_MATCHING, [
      statusesThatMayBecome('queued', ['dead']),
      tenantId,
      filter.before,
      filter.channel,
      filter.eventType,
    ]);
    return rows;
  }

  /** Ends a dead letter `failed` (the operator gives up on it); false when it is not dead (or not the tenant's). */
  async purgeDead(tenantId: string, deliveryId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(PURGE_DEAD, [
      tenantId,
      deliveryId,
      statusesThatMayBecome('failed', ['dead']),
    ]);
    return !!rowCount;
  }

  /**
   * A provider's receipt ends a sent delivery `delivered` or `failed` (`lastError`, when given, replaces the
   * one kept); in the caller's transaction. Nothing happens to a delivery that is not `sent`.
   */
  async applyReceipt(
    tenantId: string,
    deliveryId: string,
    to: 'delivered' | 'failed',
    lastError: string | null,
    client: Queryable = this.pool,
  ): Promise<void> {
    await client.query(APPLY_RECEIPT, [tenantId, deliveryId, statusesThatMayBecome(to, ['sent']), to, lastError]);
  }

  /** A carrier's "try again later": a sent delivery is queued again, due in `delaySeconds`; in the caller's transaction. */
  async retryAfterReceipt(
    tenantId: string,
    deliveryId: string,
    reason: string,
    delaySeconds: number,
    client: Queryable = this.pool,
  ): Promise<void> {
    await client.query(RETRY_AFTER_RECEIPT, [
      tenantId,
      deliveryId,
      statusesThatMayBecome('queued', ['sent']),
      reason,
      delaySeconds,
    ]);
  }

  // System methods: they span tenants by nature (housekeeping, retention, the dead-letter queue's copies).

  /** System (spans tenants): the housekeeping sweep re-enqueued these deliveries; the `pending` ones become queued. */
  async markStuckQueued(ids: string[], client: Queryable = this.pool): Promise<void> {
    if (!ids.length) return;
    await client.query(MARK_STUCK_QUEUED, [ids, statusesThatMayBecome('queued', ['pending'])]);
  }

  /**
   * System (spans tenants; retention): ends up to `limit` dead letters that died more than `olderThanSeconds`
   * ago: they become `failed` and can no longer be replayed. Returns their ids (their copies in the
   * dead-letter queue go too).
   */
  async expireDeadLetters(olderThanSeconds: number, limit: number, client: Queryable = this.pool): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(EXPIRE_DEAD_LETTERS, [
      olderThanSeconds,
      limit,
      statusesThatMayBecome('failed', ['dead']),
    ]);
    return rows.map((r) => r.id);
  }

  /** System (spans tenants: a worker's batch settles deliveries by id): the dead ones among `ids`, for the DLQ's copies. */
  async deadLetterCopies(ids: string[]): Promise<DeadLetterCopy[]> {
    if (!ids.length) return [];
    const { rows } = await this.pool.query<DeadLetterCopy>(DEAD_LETTER_COPIES, [ids]);
    return rows;
  }
}

/** A claim or peek statement's row: the claim's fields, and what the row's status and lease were. */
interface ClaimRow extends Pick<
  ClaimedDelivery,
  'id' | 'eventId' | 'subscriberId' | 'endpointId' | 'channel' | 'attempt' | 'attemptFloor'
> {
  status: string;
  leaseUntil: Date | null;
}

function claimOf(row: Omit<ClaimRow, 'attempt'>, attempt: number, leased: boolean): Omit<ClaimedDelivery, 'tenantId'> {
  const { id, eventId, subscriberId, endpointId, channel, attemptFloor } = row;
  return { id, eventId, subscriberId, endpointId, channel, attempt, attemptFloor, leased };
}

/** Sorts a claim's (or a peek's) rows into what it may send, what another worker holds, and the rest. */
function claimResult<R extends Pick<ClaimRow, 'id' | 'status' | 'leaseUntil'>>(
  tenantId: string,
  ids: string[],
  rows: R[],
  taken: (row: R) => Omit<ClaimedDelivery, 'tenantId'> | null,
): ClaimResult {
  const result: ClaimResult = { claimed: [], leased: [], settled: [] };
  const found = new Set<string>();
  for (const row of rows) {
    found.add(row.id);
    const delivery = taken(row);
    if (delivery) result.claimed.push({ ...delivery, tenantId });
    else if (row.status === 'sending' && row.leaseUntil) result.leased.push({ id: row.id, leaseUntil: row.leaseUntil });
    else result.settled.push({ id: row.id, status: row.status });
  }
  for (const id of ids) if (!found.has(id)) result.settled.push({ id, status: 'missing' });
  return result;
}
