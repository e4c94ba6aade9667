import { Client } from 'pg';
import {
  DONE_DELIVERY_STATUSES,
  EXPIRE_DEAD_LETTERS,
  MARK_STUCK_QUEUED,
  OLDEST_UNPUBLISHED,
  STUCK_DELIVERIES,
  STUCK_EVENTS,
  PICK_PURGEABLE_EVENTS,
  PURGE_ARCHIVED_INBOX_MESSAGES,
  PURGE_DELIVERIES,
  PURGE_EVENTS,
  PURGE_FEEDBACK_EVENTS,
  PURGE_PUBLISHED_OUTBOX,
  RELEASE_IDEMPOTENCY_KEYS,
} from '@herald/db';
import { CLAIM_OUTBOX as CLAIM, MARK_PUBLISHED } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';

const ID = '00000000-0000-4000-8000-000000000001';
const TENANT = '00000000-0000-4000-8000-0000000000aa';

const DAY = 86_400;
// Batches in proportion to the filled tables: 20 of 20,000 events stands for 500 of 500,000.
const BATCH = 20;

interface Periodic {
  sql: string;
  params: unknown[];
  /** who runs it, when */
  runs: string;
  /** the indexes the statement finds its rows through */
  walks: string[];
  /** with a condition on the index's key (false: every entry of the partial index is a candidate) */
  ranged: boolean;
}

/**
 * Every statement Herald runs on a timer, whatever the traffic (digests have no sweep: each one's
 * delivery is a delayed job). Each must find its rows through an index that holds what it looks for,
 * so its cost follows the work to do and not the size of the tables.
 */
const PERIODIC: Record<string, Periodic> = {
  'relay: claim unpublished outbox rows': {
    runs: 'relay: on each NOTIFY of a commit, else every RELAY_POLL_MS',
    sql: CLAIM,
    params: [BATCH],
    walks: ['outbox_unpublished_idx'],
    ranged: false,
  },
  'relay: mark published': {
    runs: 'relay: after each claim',
    sql: MARK_PUBLISHED,
    params: [[1, 2]],
    walks: ['outbox_pkey'],
    ranged: true,
  },
  'metrics: outbox lag': {
    runs: 'api and workers: on every /metrics scrape',
    sql: OLDEST_UNPUBLISHED,
    params: [],
    walks: ['outbox_unpublished_idx'],
    ranged: false,
  },
  'housekeeping: stuck deliveries': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: STUCK_DELIVERIES,
    params: [120, BATCH],
    walks: ['deliveries_stuck_idx'],
    ranged: true,
  },
  'housekeeping: mark stuck pending deliveries queued': {
    runs: 'housekeeping: after the stuck deliveries',
    sql: MARK_STUCK_QUEUED,
    params: [[ID], ['pending']],
    walks: ['deliveries_pkey'],
    ranged: true,
  },
  'housekeeping: stuck events': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: STUCK_EVENTS,
    params: [120, BATCH],
    walks: ['events_stuck_idx'],
    ranged: true,
  },
  'retention: release idempotency keys': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: RELEASE_IDEMPOTENCY_KEYS,
    params: [DAY, BATCH],
    walks: ['events_idempotency_key_created_at_idx'],
    ranged: true,
  },
  'retention: expire dead letters': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: EXPIRE_DEAD_LETTERS,
    params: [30 * DAY, BATCH, ['dead']],
    walks: ['deliveries_dead_idx'],
    ranged: true,
  },
  'retention: pick purgeable events': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: PICK_PURGEABLE_EVENTS,
    params: [30 * DAY, BATCH, DONE_DELIVERY_STATUSES, 30 * DAY],
    walks: ['events_finished_idx', 'events_retained_until_idx'],
    ranged: true,
  },
  'retention: purge deliveries of purgeable events': {
    runs: 'housekeeping: after each pick',
    sql: PURGE_DELIVERIES,
    params: [[ID], BATCH, DONE_DELIVERY_STATUSES],
    walks: ['deliveries_event_id_idx'],
    ranged: true,
  },
  'retention: purge events': {
    runs: 'housekeeping: after the deliveries of each pick',
    sql: PURGE_EVENTS,
    params: [[ID]],
    walks: ['events_pkey'],
    ranged: true,
  },
  'retention: purge archived inbox messages': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: PURGE_ARCHIVED_INBOX_MESSAGES,
    params: [30 * DAY, BATCH],
    walks: ['inbox_messages_archived_idx'],
    ranged: true,
  },
  'retention: purge published outbox rows': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: PURGE_PUBLISHED_OUTBOX,
    params: [3600, BATCH],
    walks: ['outbox_published_idx'],
    ranged: true,
  },
  'retention: purge feedback events': {
    runs: 'housekeeping: every HOUSEKEEPING_INTERVAL_MS',
    sql: PURGE_FEEDBACK_EVENTS,
    params: [30 * DAY, BATCH],
    walks: ['feedback_events_created_at_idx'],
    ranged: true,
  },
};

// What a Herald two months into production looks like, in miniature: 20,000 events over 55 days (most
// finished, a few scheduled or waiting for the relay, half with an idempotency key), three deliveries
// each (mostly done; some dead, waiting or in flight), their outbox rows, inbox messages (a few
// archived), feedback and digests. Enough rows for the planner to choose as it would on a full table.
const FILL = `
INSERT INTO events (id, tenant_id, type, recipients, status, idempotency_key, send_at, created_at, updated_at)
SELECT md5('e' || i)::uuid, '${TENANT}', 't', '[]',
  CASE WHEN i % 100 IN (0, 50) THEN 'accepted' WHEN i % 50 = 1 THEN 'cancelled' WHEN i % 40 = 2 THEN 'unrouted'
    ELSE 'routed' END,
  CASE WHEN i % 2 = 0 THEN 'key-' || i END,
  CASE WHEN i % 100 = 0 THEN now() + interval '1 day' END,
  now() - i * interval '4 minutes', now() - i * interval '4 minutes' + interval '1 second'
FROM generate_series(1, 20000) i;

INSERT INTO outbox (event_id, tenant_id, created_at, published_at)
SELECT id, tenant_id, created_at, CASE WHEN status = 'accepted' AND send_at IS NULL THEN NULL ELSE created_at END
FROM events;

INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, not_before, lease_until, created_at,
  updated_at)
SELECT md5(e.id::text || c)::uuid, e.tenant_id, e.id, 's' || c, 'inapp', s.status,
  CASE WHEN s.status IN ('queued', 'deferred') THEN now() + interval '1 hour' END,
  CASE WHEN s.status = 'sending' THEN now() + interval '30 seconds' END,
  e.updated_at, e.updated_at
FROM events e CROSS JOIN generate_series(1, 3) c
CROSS JOIN LATERAL (SELECT CASE (abs(hashtext(e.id::text)) + c) % 1000
  WHEN 0 THEN 'dead' WHEN 1 THEN 'dead' WHEN 2 THEN 'queued' WHEN 3 THEN 'deferred' WHEN 4 THEN 'sending'
  WHEN 5 THEN 'failed' WHEN 6 THEN 'skipped' ELSE 'sent' END AS status) s
WHERE e.status = 'routed';

INSERT INTO inbox_messages (id, tenant_id, subscriber_id, event_id, title, body, created_at, archived_at)
SELECT d.id, d.tenant_id, d.subscriber_id, d.event_id, 'title', 'body', d.created_at,
  CASE WHEN abs(hashtext(d.id::text)) % 50 = 0 THEN d.created_at + interval '1 day' END
FROM deliveries d WHERE d.subscriber_id = 's1';

INSERT INTO feedback_events (id, tenant_id, source, kind, channel, delivery_id, outcome, payload, created_at)
SELECT md5('f' || d.id)::uuid, d.tenant_id, 'generic', 'delivered', 'inapp', d.id, 'noted', '{}', d.updated_at
FROM deliveries d WHERE d.subscriber_id = 's2';

INSERT INTO digests (id, tenant_id, subscriber_id, channel, digest_key, window_end, delivery_id, flushed_at)
SELECT md5('g' || d.id)::uuid, d.tenant_id, d.subscriber_id, 'inapp', 'k', d.created_at, d.id, d.created_at
FROM deliveries d WHERE d.subscriber_id = 's3' AND abs(hashtext(d.id::text)) % 20 = 0;

INSERT INTO digest_items (id, digest_id, event_id)
SELECT md5('i' || g.id || n)::uuid, g.id, e.id
FROM digests g JOIN deliveries d ON d.id = g.delivery_id JOIN events e ON e.id = d.event_id
CROSS JOIN generate_series(1, 2) n;`;
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

describe('every periodic statement walks an index (EXPLAIN)', () => {
  let db: TestDatabase;
  let client: Client;
  /** partial indexes hold only candidates: walking one whole is bounded by what it holds */
  let partial: Set<string>;

  beforeAll(async () => {
    db = await createTestDatabase('periodic', { migrate: true });
    client = new Client({ connectionString: db.url });
    await client.connect();
    await client.query(FILL);
    await client.query('ANALYZE');
    const { rows } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indpred IS NOT NULL`,
    );
    partial = new Set(rows.map((r) => r.name));
  });
  afterAll(async () => {
    await client.end();
    await db.drop();
  });

  async function planOf(sql: string, params: unknown[]): Promise<PlanNode[]> {
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
    return nodesOf(rows[0]['QUERY PLAN'][0].Plan);
  }

  it.each(Object.entries(PERIODIC))('%s', async (_, statement) => {
    const nodes = await planOf(statement.sql, statement.params);
    const scans = nodes.filter((n) => n['Node Type'].endsWith('Scan') && n['Relation Name'] !== undefined);
    const indexScans = nodes.filter((n) => n['Index Name'] !== undefined);
    // No table is read whole, ...
    expect(scans.filter((n) => n['Node Type'] === 'Seq Scan').map((n) => n['Relation Name'])).toEqual([]);
    // ... nor a whole index of all its rows: a full index is read only where a condition bounds the walk.
    expect(
      indexScans.filter((n) => !partial.has(n['Index Name']!) && !n['Index Cond']).map((n) => n['Index Name']),
    ).toEqual([]);
    for (const index of statement.walks) {
      const walk = indexScans.find((n) => n['Index Name'] === index);
      expect(walk?.['Index Name']).toBe(index);
      if (statement.ranged) expect(walk?.['Index Cond']).toBeDefined();
    }
  });
});
