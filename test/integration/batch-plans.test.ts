import { Client, type Pool } from 'pg';
import {
  DeliveriesRepository,
  DeliveryContextRepository,
  FanoutRepository,
  type ClaimedDelivery,
  type PlannedDelivery,
} from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';

const OLD = '00000000-0000-4000-8000-0000000000bb';
const BIG = '00000000-0000-4000-8000-0000000000aa';
const BATCH = 100;
/** the big tenant's rows of each kind: a backlog of work in motion, and as much history */
const ROWS = 20_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  /** rows the scan read and then dropped: a condition checked on them, not used to find them */
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

// Statistics that lag behind the data, as they do for a tenant that is new or grew in a burst (autoanalyze
// runs once a minute at best): analyzed while only another tenant had rows, all of them done, then the big
// tenant's backlog (accepted events, queued deliveries) and history (routed events, sent deliveries) arrive.
const FILL = (tenant: string, n: number, salt: string, backlog: boolean) => `
INSERT INTO events (id, tenant_id, type, recipients, status, created_at, updated_at)
SELECT md5('${salt}e' || i)::uuid, '${tenant}', 't',
  ('[{"subscriberId":"s' || i || '","email":"s' || i || '@example.com"}]')::jsonb,
  CASE WHEN ${backlog} AND i % 2 = 0 THEN 'accepted' ELSE 'routed' END, now(), now()
FROM generate_series(1, ${n}) i;
INSERT INTO subscribers (id, tenant_id, subscriber_id, created_at, updated_at)
SELECT gen_random_uuid(), '${tenant}', 's' || i, now(), now() FROM generate_series(1, ${n}) i;
INSERT INTO deliveries (id, tenant_id, event_id, subscriber_id, channel, status, created_at, updated_at)
SELECT md5('${salt}d' || i)::uuid, '${tenant}', md5('${salt}e' || i)::uuid, 's' || i, 'inapp',
  CASE WHEN ${backlog} AND i % 2 = 0 THEN 'queued' ELSE 'sent' END, now(), now()
FROM generate_series(1, ${n}) i;`;

/**
 * A stand-in for the pool that runs each statement under EXPLAIN ANALYZE, inside a savepoint rolled back
 * after it (the writes happen, then are undone), and keeps the plan: the repositories' own statements, with
 * the parameters they really send.
 */
function explainingPool(client: Client, plans: { sql: string; nodes: PlanNode[] }[]): Pool {
  const query = async (config: string | { text: string; values?: unknown[] }, values?: unknown[]) => {
    const text = typeof config === 'string' ? config : config.text;
    const params = typeof config === 'string' ? values : config.values;
    await client.query('SAVEPOINT statement');
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
        params,
      );
      plans.push({ sql: text.trim().slice(0, 60), nodes: nodesOf(rows[0]['QUERY PLAN'][0].Plan) });
    } finally {
      await client.query('ROLLBACK TO SAVEPOINT statement');
    }
    return { rows: [], rowCount: 0 };
  };
  return { query } as unknown as Pool;
}

describe("a batch's statements read what the batch names, whatever the tenant holds (EXPLAIN ANALYZE)", () => {
  let db: TestDatabase;
  let client: Client;

  beforeAll(async () => {
    db = await createTestDatabase('batchplans', { migrate: true });
    client = new Client({ connectionString: db.url });
    await client.connect();
    for (const table of ['events', 'deliveries', 'subscribers']) {
      await client.query(`ALTER TABLE ${table} SET (autovacuum_enabled = off)`);
    }
    await client.query(`INSERT INTO tenants (id, name) VALUES ('${OLD}', 'old'), ('${BIG}', 'big')`);
    await client.query(FILL(OLD, 2000, 'old', false));
    await client.query('ANALYZE');
    await client.query(FILL(BIG, ROWS, 'big', true));
  }, 120_000);
  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  /** The plans of what `work` sends, each statement's scans bounded by the batch. */
  async function plansOf(work: (pool: Pool) => Promise<unknown>): Promise<{ sql: string; nodes: PlanNode[] }[]> {
    const plans: { sql: string; nodes: PlanNode[] }[] = [];
    await client.query('BEGIN');
    try {
      await work(explainingPool(client, plans));
    } finally {
      await client.query('ROLLBACK');
    }
    expect(plans.length).toBeGreaterThan(0);
    return plans;
  }

  function expectBounded(plans: { sql: string; nodes: PlanNode[] }[]): void {
    for (const { sql, nodes } of plans) {
      const scans = nodes.filter((n) => n['Node Type'].includes('Scan') && (n['Relation Name'] ?? n['Index Name']));
      const rowsRead = (n: PlanNode) => (n['Actual Rows'] + (n['Rows Removed by Filter'] ?? 0)) * n['Actual Loops'];
      const read = scans
        .filter((n) => rowsRead(n) > 3 * BATCH)
        .map((n) => `${n['Node Type']} ${n['Index Name'] ?? n['Relation Name']}: ${rowsRead(n)} rows`);
      expect({ sql, read }).toEqual({ sql, read: [] });
    }
  }

  const ids = async (sql: string) => (await client.query<{ id: string }>(sql)).rows.map((r) => r.id);
  const queuedDeliveries = () =>
    client.query<{ id: string; eventId: string; subscriberId: string }>(
      `SELECT id, event_id AS "eventId", subscriber_id AS "subscriberId" FROM deliveries
       WHERE tenant_id = '${BIG}' AND status = 'queued' ORDER BY id LIMIT ${BATCH}`,
    );
  const claimed = (rows: { id: string; eventId: string; subscriberId: string }[], leased: boolean): ClaimedDelivery[] =>
    rows.map((r) => ({
      ...r,
      tenantId: BIG,
      endpointId: null,
      channel: 'inapp',
      attempt: 1,
      attemptFloor: 0,
      leased,
    }));

  it('claim and peek: by primary key, not through the tenant index or the backlog', async () => {
    const batch = await ids(
      `SELECT id FROM deliveries WHERE tenant_id = '${BIG}' AND status = 'queued' LIMIT ${BATCH}`,
    );
    expectBounded(await plansOf((pool) => new DeliveriesRepository(pool).claim(BIG, batch, 30)));
    expectBounded(await plansOf((pool) => new DeliveriesRepository(pool).peek(BIG, batch)));
  });

  it('insert planned deliveries: finds those already there by primary key', async () => {
    const events = await ids(`SELECT id FROM events WHERE tenant_id = '${BIG}' AND status = 'accepted' LIMIT ${BATCH}`);
    const planned: PlannedDelivery[] = events.map((eventId, i) => ({
      id: `${eventId.slice(0, 24)}${String(i).padStart(12, '0')}`,
      eventId,
      subscriberId: `s${i}`,
      endpointId: null,
      channel: 'inapp',
      status: 'queued',
      lastError: null,
    }));
    expectBounded(await plansOf((pool) => new DeliveriesRepository(pool).insertPlanned(BIG, planned)));
  });

  it('settle a batch: in-app sends, outcomes and hold-backs by primary key', async () => {
    const { rows } = await queuedDeliveries();
    const message = { title: 't', body: 'b', url: null, data: {} };
    expectBounded(
      await plansOf((pool) =>
        new DeliveriesRepository(pool).sendInapp(
          BIG,
          claimed(rows, false).map((delivery) => ({ delivery, message })),
        ),
      ),
    );
    expectBounded(
      await plansOf((pool) =>
        new DeliveriesRepository(pool).finish(
          claimed(rows, true).map((delivery) => ({ delivery, end: { status: 'sent' as const } })),
        ),
      ),
    );
    expectBounded(
      await plansOf((pool) =>
        new DeliveriesRepository(pool).holdBack(
          claimed(rows, false).map((delivery) => ({ delivery, hold: { status: 'deferred' as const, reason: 'r' } })),
        ),
      ),
    );
  });

  it("a batch's context: events by primary key", async () => {
    const { rows } = await queuedDeliveries();
    expectBounded(await plansOf((pool) => new DeliveryContextRepository(pool).load(BIG, claimed(rows, true))));
  });

  it('fan-out: events, recipients and statuses by primary key, not through the accepted backlog', async () => {
    const events = await ids(`SELECT id FROM events WHERE tenant_id = '${BIG}' AND status = 'accepted' LIMIT ${BATCH}`);
    expectBounded(await plansOf((pool) => new FanoutRepository(pool).events(BIG, events)));
    expectBounded(await plansOf((pool) => new FanoutRepository(pool).upsertRecipients(BIG, events)));
    expectBounded(await plansOf((pool) => new FanoutRepository(pool).setStatus(BIG, events, 'routed')));
  });
});
