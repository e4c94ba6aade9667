import { deliveryId, newId } from '@herald/core';
import { DeliveriesRepository, type ClaimedDelivery, type PlannedDelivery } from '@herald/db';
import { repositoryDb, type RepositoryDb } from '../../helpers/repository-db';
import { insertDelivery } from './fixtures';

/**
 * DeliveriesRepository against Postgres: the delivery path's methods, their answers and the rows they leave
 * (deliveries-status.test.ts checks each status change against core's table, claim-fencing.test.ts the
 * fencing of a stale claim; this suite covers what those do not assert: insertPlanned, claim's and peek's
 * answers, finish's and sendInapp's rows, holdBack, release, renewLeases and failOver).
 */
describe('DeliveriesRepository', () => {
  let db: RepositoryDb;
  let deliveries: DeliveriesRepository;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = await repositoryDb('repo-deliveries');
    deliveries = new DeliveriesRepository(db.pool);
    tenant = await db.tenant('mine');
    other = await db.tenant('other');
  });
  afterAll(() => db.close());

  const row = async (id: string) =>
    (
      await db.pool.query(
        `SELECT tenant_id AS "tenantId", status, attempts, last_error AS "lastError", not_before AS "notBefore",
           lease_until AS "leaseUntil", sent_at AS "sentAt", provider_message_id AS "providerMessageId",
           last_deferral AS "lastDeferral", lease_until > now() AS "leaseLive",
           EXTRACT(EPOCH FROM lease_until - now()) AS "leaseLeft"
         FROM deliveries WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const attempts = async (id: string) =>
    (
      await db.pool.query(
        'SELECT attempt, outcome, provider, code, message FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt',
        [id],
      )
    ).rows;
  async function event(tenantId: string): Promise<string> {
    const id = newId();
    await db.pool.query(
      `INSERT INTO events (id, tenant_id, type, recipients, status) VALUES ($1, $2, 'greet', '[]', 'routed')`,
      [id, tenantId],
    );
    return id;
  }
  async function claimOne(tenantId = tenant, channel = 'email'): Promise<ClaimedDelivery> {
    const id = await insertDelivery(db.pool, { tenantId, status: 'queued', channel });
    const [claim] = (await deliveries.claim(tenantId, [id], 30)).claimed;
    if (!claim) throw new Error('not claimed');
    return claim;
  }

  describe('insertPlanned', () => {
    it('inserts the planned deliveries and answers the queued ones; a rerun answers what is still queued', async () => {
      const eventId = await event(tenant);
      const endpointId = newId();
      const planned: PlannedDelivery[] = [
        {
          id: deliveryId(eventId, 'ann', 'email'),
          eventId,
          subscriberId: 'ann',
          endpointId: null,
          channel: 'email',
          status: 'queued',
          lastError: null,
        },
        {
          id: deliveryId(eventId, 'bob', 'sms'),
          eventId,
          subscriberId: 'bob',
          endpointId: null,
          channel: 'sms',
          status: 'skipped',
          lastError: 'opted out',
        },
        {
          id: deliveryId(eventId, endpointId, 'webhook'),
          eventId,
          subscriberId: null,
          endpointId,
          channel: 'webhook',
          status: 'queued',
          lastError: null,
        },
      ];
      const [ann, bob, hook] = planned.map((p) => p.id);
      const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);

      expect((await deliveries.insertPlanned(tenant, planned)).sort(byId)).toEqual(
        [
          { id: ann, eventId, channel: 'email' },
          { id: hook, eventId, channel: 'webhook' },
        ].sort(byId),
      );
      expect(await row(ann)).toMatchObject({ tenantId: tenant, status: 'queued', lastError: null });
      expect(await row(bob)).toMatchObject({ tenantId: tenant, status: 'skipped', lastError: 'opted out' });
      const { rows } = await db.pool.query(
        'SELECT subscriber_id AS s, endpoint_id AS e FROM deliveries WHERE id = $1',
        [hook],
      );
      expect(rows[0]).toEqual({ s: null, e: endpointId });

      // A rerun inserts nothing and hands on what is still queued: not what has moved on since.
      await db.pool.query(`UPDATE deliveries SET status = 'sent' WHERE id = $1`, [hook]);
      expect(await deliveries.insertPlanned(tenant, planned)).toEqual([{ id: ann, eventId, channel: 'email' }]);
      expect(await deliveries.insertPlanned(tenant, [])).toEqual([]);
    });

    it('answers nothing of another tenant’s queued delivery of the same id, and leaves it as it was', async () => {
      const theirs = await insertDelivery(db.pool, { tenantId: other, status: 'queued' });
      const eventId = await event(tenant);
      expect(
        await deliveries.insertPlanned(tenant, [
          {
            id: theirs,
            eventId,
            subscriberId: 'ann',
            endpointId: null,
            channel: 'email',
            status: 'queued',
            lastError: null,
          },
        ]),
      ).toEqual([]);
      expect(await row(theirs)).toMatchObject({ tenantId: other, status: 'queued' });
    });
  });

  describe('claim', () => {
    it('leases what is claimable and says what became of the rest: leased elsewhere, settled, missing', async () => {
      const queued = await insertDelivery(db.pool, { tenantId: tenant, status: 'queued', attempts: 2 });
      const deferred = await insertDelivery(db.pool, { tenantId: tenant, status: 'deferred' });
      const expired = await insertDelivery(db.pool, {
        tenantId: tenant,
        status: 'sending',
        attempts: 1,
        leaseUntil: new Date(Date.now() - 1000),
      });
      const live = new Date(Date.now() + 60_000);
      const held = await insertDelivery(db.pool, { tenantId: tenant, status: 'sending', leaseUntil: live });
      const sent = await insertDelivery(db.pool, { tenantId: tenant, status: 'sent' });
      const theirs = await insertDelivery(db.pool, { tenantId: other, status: 'queued' });
      const missing = newId();

      const result = await deliveries.claim(tenant, [queued, deferred, expired, held, sent, theirs, missing], 30);
      const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
      const q = await row(queued);
      expect(result.claimed.sort(byId)).toEqual(
        [
          { id: queued, attempt: 3, attemptFloor: 0 },
          { id: deferred, attempt: 1, attemptFloor: 0 },
          { id: expired, attempt: 2, attemptFloor: 0 },
        ]
          .map((c) => ({
            ...c,
            tenantId: tenant,
            eventId: expect.any(String),
            subscriberId: 'ann',
            endpointId: null,
            channel: 'email',
            leased: true,
          }))
          .sort(byId),
      );
      expect(q).toMatchObject({ status: 'sending', attempts: 3, leaseLive: true });
      expect(Number(q.leaseLeft)).toBeGreaterThan(25);
      expect(result.leased).toEqual([{ id: held, leaseUntil: expect.any(Date) }]);
      expect(result.settled.sort(byId)).toEqual(
        [
          { id: sent, status: 'sent' },
          { id: theirs, status: 'missing' },
          { id: missing, status: 'missing' },
        ].sort(byId),
      );
      expect(await row(theirs)).toMatchObject({ status: 'queued', attempts: 0, leaseUntil: null });
    });
  });

  describe('peek', () => {
    it('answers what is claimable at the next attempt, unleased, and writes nothing', async () => {
      const queued = await insertDelivery(db.pool, {
        tenantId: tenant,
        status: 'queued',
        channel: 'inapp',
        attempts: 1,
      });
      const held = await insertDelivery(db.pool, {
        tenantId: tenant,
        status: 'sending',
        channel: 'inapp',
        leaseUntil: new Date(Date.now() + 60_000),
      });
      const sent = await insertDelivery(db.pool, { tenantId: tenant, status: 'sent', channel: 'inapp' });
      const theirs = await insertDelivery(db.pool, { tenantId: other, status: 'queued', channel: 'inapp' });

      const result = await deliveries.peek(tenant, [queued, held, sent, theirs]);
      expect(result.claimed).toEqual([
        {
          id: queued,
          tenantId: tenant,
          eventId: expect.any(String),
          subscriberId: 'ann',
          endpointId: null,
          channel: 'inapp',
          attempt: 2,
          attemptFloor: 0,
          leased: false,
        },
      ]);
      expect(result.leased).toEqual([{ id: held, leaseUntil: expect.any(Date) }]);
      expect(result.settled).toEqual(
        expect.arrayContaining([
          { id: sent, status: 'sent' },
          { id: theirs, status: 'missing' },
        ]),
      );
      expect(await row(queued)).toMatchObject({ status: 'queued', attempts: 1, leaseUntil: null });
    });
  });

  describe('finish', () => {
    it('writes the end’s fields and its attempt row; a retried write adds no second attempt row', async () => {
      const sent = await claimOne();
      const retry = await claimOne();
      const notBefore = new Date(Date.now() + 60_000);
      const finished = await deliveries.finish([
        {
          delivery: sent,
          end: {
            status: 'sent',
            providerMessageId: 'msg-1',
            attempt: { outcome: 'ok', provider: 'smtp', code: '250' },
          },
        },
        {
          delivery: retry,
          end: {
            status: 'queued',
            notBefore,
            attempt: { outcome: 'retryable', provider: 'smtp', code: '421', message: 'try later' },
          },
        },
      ]);
      expect(finished).toEqual(new Set([sent.id, retry.id]));
      expect(await row(sent.id)).toMatchObject({
        status: 'sent',
        attempts: 1,
        leaseUntil: null,
        sentAt: expect.any(Date),
        providerMessageId: 'msg-1',
        lastError: null,
      });
      expect(await row(retry.id)).toMatchObject({
        status: 'queued',
        leaseUntil: null,
        sentAt: null,
        lastError: 'try later',
        notBefore,
      });
      expect(await attempts(sent.id)).toEqual([
        { attempt: 1, outcome: 'ok', provider: 'smtp', code: '250', message: null },
      ]);
      expect(await attempts(retry.id)).toEqual([
        { attempt: 1, outcome: 'retryable', provider: 'smtp', code: '421', message: 'try later' },
      ]);

      // Written again (a retry of the batch's write): the claim is no longer theirs, the attempt row stays one.
      expect(
        await deliveries.finish([{ delivery: sent, end: { status: 'failed', attempt: { outcome: 'permanent' } } }]),
      ).toEqual(new Set());
      expect((await row(sent.id)).status).toBe('sent');
      expect(await attempts(sent.id)).toHaveLength(1);
      expect(await deliveries.finish([])).toEqual(new Set());
    });

    it('runs in the caller’s transaction when given its client', async () => {
      const claim = await claimOne();
      const client = await db.pool.connect();
      try {
        await client.query('BEGIN');
        expect(
          await deliveries.finish([{ delivery: claim, end: { status: 'failed', reason: 'bad' } }], client),
        ).toEqual(new Set([claim.id]));
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect((await row(claim.id)).status).toBe('sending');
    });
  });

  describe('sendInapp', () => {
    it('writes the inbox message (id = delivery id) and its attempt, once; the tenant’s own', async () => {
      const id = await insertDelivery(db.pool, {
        tenantId: tenant,
        status: 'queued',
        channel: 'inapp',
        subscriberId: 'cat',
      });
      const [peeked] = (await deliveries.peek(tenant, [id])).claimed;
      const message = { title: 'Hello', body: 'Welcome', url: 'https://example.com', data: { n: 1 } };
      const written = await deliveries.sendInapp(tenant, [{ delivery: peeked!, message }]);
      expect(written).toEqual([{ id, subscriberId: 'cat', ...message, createdAt: expect.any(Date) }]);
      const inbox = await db.pool.query(
        'SELECT tenant_id AS "tenantId", subscriber_id AS "subscriberId", event_id AS "eventId", title FROM inbox_messages WHERE id = $1',
        [id],
      );
      expect(inbox.rows).toEqual([{ tenantId: tenant, subscriberId: 'cat', eventId: peeked!.eventId, title: 'Hello' }]);
      expect(await row(id)).toMatchObject({ status: 'sent', attempts: 1, sentAt: expect.any(Date) });
      expect(await attempts(id)).toEqual([{ attempt: 1, outcome: 'ok', provider: 'inapp', code: null, message: null }]);

      expect(await deliveries.sendInapp(tenant, [{ delivery: peeked!, message }])).toEqual([]);
      expect((await db.pool.query('SELECT 1 FROM inbox_messages WHERE id = $1', [id])).rowCount).toBe(1);
      expect(await deliveries.sendInapp(tenant, [])).toEqual([]);
    });

    // SEND_INAPP writes the inbox row under the tenant id passed in: its UPDATE must find the delivery under
    // that tenant too, or a caller's mistake would send tenant A's delivery into tenant B's inbox.
    it('under another tenant’s id, neither sends the delivery nor writes a message into that tenant’s inbox', async () => {
      const id = await insertDelivery(db.pool, { tenantId: tenant, status: 'queued', channel: 'inapp' });
      const [peeked] = (await deliveries.peek(tenant, [id])).claimed;
      const message = { title: 'Hello', body: 'Welcome', url: null, data: {} };
      expect(await deliveries.sendInapp(other, [{ delivery: peeked!, message }])).toEqual([]);
      expect((await row(id)).status).toBe('queued');
      expect((await db.pool.query('SELECT 1 FROM inbox_messages WHERE id = $1', [id])).rowCount).toBe(0);
    });
  });

  describe('holdBack', () => {
    it('gives back the attempt a lease took and keeps the hold-back as the last deferral', async () => {
      const claim = await claimOne();
      const notBefore = new Date(Date.now() + 3_600_000);
      await deliveries.holdBack([{ delivery: claim, hold: { status: 'deferred', reason: 'quiet hours', notBefore } }]);
      expect(await row(claim.id)).toMatchObject({
        status: 'deferred',
        attempts: 0,
        leaseUntil: null,
        lastError: 'quiet hours',
        notBefore,
        lastDeferral: { status: 'deferred', reason: 'quiet hours', at: expect.any(String), until: expect.any(String) },
      });
      await deliveries.holdBack([]);
    });
  });

  describe('release', () => {
    it('hands a leased claim back queued, lease cleared, its attempt kept; not a peeked one', async () => {
      const claim = await claimOne();
      const peekedId = await insertDelivery(db.pool, { tenantId: tenant, status: 'deferred', channel: 'inapp' });
      const [peeked] = (await deliveries.peek(tenant, [peekedId])).claimed;
      await deliveries.release([claim, peeked!]);
      expect(await row(claim.id)).toMatchObject({ status: 'queued', attempts: 1, leaseUntil: null });
      expect((await row(peekedId)).status).toBe('deferred');
      await deliveries.release([]);
    });
  });

  describe('renewLeases', () => {
    it('extends the leases still held and answers their ids', async () => {
      const claim = await claimOne();
      const lost = await claimOne();
      await db.pool.query(`UPDATE deliveries SET attempts = attempts + 1 WHERE id = $1`, [lost.id]);
      expect(await deliveries.renewLeases([claim, lost], 600)).toEqual(new Set([claim.id]));
      expect(Number((await row(claim.id)).leaseLeft)).toBeGreaterThan(500);
      expect(Number((await row(lost.id)).leaseLeft)).toBeLessThan(31);
      expect(await deliveries.renewLeases([], 600)).toEqual(new Set());
    });
  });

  describe('failOver', () => {
    it('records the failed provider’s attempt and moves the claim to the next attempt, its lease renewed', async () => {
      const claim = await claimOne();
      const next = await deliveries.failOver(
        claim,
        { outcome: 'retryable', provider: 'ses', code: '503', message: 'down' },
        600,
      );
      expect(next).toEqual({ ...claim, attempt: 2 });
      expect(await row(claim.id)).toMatchObject({ status: 'sending', attempts: 2 });
      expect(Number((await row(claim.id)).leaseLeft)).toBeGreaterThan(500);
      expect(await attempts(claim.id)).toEqual([
        { attempt: 1, outcome: 'retryable', provider: 'ses', code: '503', message: 'down' },
      ]);

      // The old attempt number is no longer the claim's: nothing happens.
      expect(await deliveries.failOver(claim, { outcome: 'retryable', provider: 'smtp' }, 600)).toBeNull();
      expect(await row(claim.id)).toMatchObject({ attempts: 2 });
      expect(await attempts(claim.id)).toHaveLength(1);
    });
  });
});
