import { Pool } from 'pg';
import { newId } from '@herald/core';
import { DeliveriesRepository, type ClaimedDelivery, type DeliveryEnd, type HoldBack } from '@herald/db';
import { createTestDatabase, type TestDatabase } from '../../helpers/databases';
import { deliveryState, insertDelivery, insertTenants } from './fixtures';

/**
 * DeliveriesRepository is the one writer of a delivery's status: every status-writing method, run against
 * Postgres. A change core's table does not allow matches no row; a tenant-scoped method leaves another
 * tenant's delivery alone.
 */
describe('DeliveriesRepository: status changes follow the table', () => {
  let db: TestDatabase;
  let pool: Pool;
  let deliveries: DeliveriesRepository;
  const tenant = newId();
  const other = newId();

  beforeAll(async () => {
    db = await createTestDatabase('deliveries_status', { migrate: true });
    pool = new Pool({ connectionString: db.url });
    deliveries = new DeliveriesRepository(pool);
    await insertTenants(pool, tenant, other);
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  describe('replayDead', () => {
    it('queues a dead letter again, with a fresh retry budget', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'dead', attempts: 5, lastError: 'timeout' });
      expect(await deliveries.replayDead(tenant, id)).toEqual([{ id, tenantId: tenant, channel: 'email' }]);
      expect(await deliveryState(pool, id)).toMatchObject({
        status: 'queued',
        attempts: 5,
        attemptFloor: 5,
        lastError: null,
      });
    });

    it('does not take a sent in-app delivery back to queued', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'sent', channel: 'inapp' });
      expect(await deliveries.replayDead(tenant, id)).toEqual([]);
      expect((await deliveryState(pool, id)).status).toBe('sent');
    });

    it("leaves another tenant's dead letter alone", async () => {
      const id = await insertDelivery(pool, { tenantId: other, status: 'dead' });
      expect(await deliveries.replayDead(tenant, id)).toEqual([]);
      expect((await deliveryState(pool, id)).status).toBe('dead');
    });
  });

  describe('replayDeadMatching', () => {
    it('queues the dead letters that match, died before `before`, of the tenant only', async () => {
      const t = newId();
      await insertTenants(pool, t);
      const match = await insertDelivery(pool, {
        tenantId: t,
        status: 'dead',
        channel: 'sms',
        eventType: 'otp',
        age: 60,
      });
      const otherChannel = await insertDelivery(pool, {
        tenantId: t,
        status: 'dead',
        channel: 'email',
        eventType: 'otp',
        age: 60,
      });
      const otherType = await insertDelivery(pool, {
        tenantId: t,
        status: 'dead',
        channel: 'sms',
        eventType: 'news',
        age: 60,
      });
      const tooNew = await insertDelivery(pool, { tenantId: t, status: 'dead', channel: 'sms', eventType: 'otp' });
      const notDead = await insertDelivery(pool, {
        tenantId: t,
        status: 'failed',
        channel: 'sms',
        eventType: 'otp',
        age: 60,
      });
      const othersDead = await insertDelivery(pool, {
        tenantId: other,
        status: 'dead',
        channel: 'sms',
        eventType: 'otp',
        age: 60,
      });

      const before = new Date(Date.now() - 30_000);
      const revived = await deliveries.replayDeadMatching(t, { before, channel: 'sms', eventType: 'otp' });
      expect(revived).toEqual([{ id: match, tenantId: t, channel: 'sms' }]);
      expect((await deliveryState(pool, match)).status).toBe('queued');
      for (const id of [otherChannel, otherType, tooNew, othersDead])
        expect((await deliveryState(pool, id)).status).toBe('dead');
      expect((await deliveryState(pool, notDead)).status).toBe('failed');

      // No filter: every dead letter of the tenant that died before `before`.
      const all = await deliveries.replayDeadMatching(t, { before, channel: null, eventType: null });
      expect(all.map((r) => r.id).sort()).toEqual([otherChannel, otherType].sort());
      expect((await deliveryState(pool, othersDead)).status).toBe('dead');
    });
  });

  describe('purgeDead', () => {
    it('ends a dead letter failed, keeping the reason', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'dead', lastError: 'timeout' });
      expect(await deliveries.purgeDead(tenant, id)).toBe(true);
      expect(await deliveryState(pool, id)).toMatchObject({
        status: 'failed',
        lastError: 'purged from the dead-letter queue: timeout',
      });
    });

    it('does not fail a delivery that is not dead, nor one of another tenant', async () => {
      const sent = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
      const othersDead = await insertDelivery(pool, { tenantId: other, status: 'dead' });
      expect(await deliveries.purgeDead(tenant, sent)).toBe(false);
      expect(await deliveries.purgeDead(tenant, othersDead)).toBe(false);
      expect((await deliveryState(pool, sent)).status).toBe('sent');
      expect((await deliveryState(pool, othersDead)).status).toBe('dead');
    });
  });

  describe('applyReceipt', () => {
    it('marks a sent delivery delivered, or failed with the reason', async () => {
      const delivered = await insertDelivery(pool, { tenantId: tenant, status: 'sent', lastError: null });
      const failed = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
      await deliveries.applyReceipt(tenant, delivered, 'delivered', null);
      await deliveries.applyReceipt(tenant, failed, 'failed', 'bounced: no such user');
      expect(await deliveryState(pool, delivered)).toMatchObject({ status: 'delivered', lastError: null });
      expect(await deliveryState(pool, failed)).toMatchObject({ status: 'failed', lastError: 'bounced: no such user' });
    });

    it('changes nothing the table (or a receipt) does not allow: delivered → failed, queued → delivered', async () => {
      const delivered = await insertDelivery(pool, { tenantId: tenant, status: 'delivered' });
      const queued = await insertDelivery(pool, { tenantId: tenant, status: 'queued' });
      const dead = await insertDelivery(pool, { tenantId: tenant, status: 'dead' });
      await deliveries.applyReceipt(tenant, delivered, 'failed', 'late bounce');
      await deliveries.applyReceipt(tenant, queued, 'delivered', null);
      // dead → failed is in the table (a purge), but a receipt acts on sent deliveries only
      await deliveries.applyReceipt(tenant, dead, 'failed', 'late bounce');
      expect(await deliveryState(pool, delivered)).toMatchObject({ status: 'delivered', lastError: null });
      expect((await deliveryState(pool, queued)).status).toBe('queued');
      expect((await deliveryState(pool, dead)).status).toBe('dead');
    });

    it("leaves another tenant's delivery alone, and runs in the caller's transaction", async () => {
      const id = await insertDelivery(pool, { tenantId: other, status: 'sent' });
      await deliveries.applyReceipt(tenant, id, 'delivered', null);
      expect((await deliveryState(pool, id)).status).toBe('sent');

      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await deliveries.applyReceipt(other, id, 'delivered', null, client);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect((await deliveryState(pool, id)).status).toBe('sent');
    });
  });

  describe('retryAfterReceipt', () => {
    it('queues a sent delivery again, due after the delay', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'sent', channel: 'sms' });
      const before = Date.now();
      await deliveries.retryAfterReceipt(tenant, id, 'carrier: undelivered (30003)', 60);
      const state = await deliveryState(pool, id);
      expect(state).toMatchObject({ status: 'queued', lastError: 'carrier: undelivered (30003)' });
      expect(state.notBefore!.getTime()).toBeGreaterThanOrEqual(before + 59_000);
    });

    it("does not queue a delivered one, nor another tenant's", async () => {
      const delivered = await insertDelivery(pool, { tenantId: tenant, status: 'delivered', channel: 'sms' });
      const othersSent = await insertDelivery(pool, { tenantId: other, status: 'sent', channel: 'sms' });
      await deliveries.retryAfterReceipt(tenant, delivered, 'carrier', 60);
      await deliveries.retryAfterReceipt(tenant, othersSent, 'carrier', 60);
      expect((await deliveryState(pool, delivered)).status).toBe('delivered');
      expect((await deliveryState(pool, othersSent)).status).toBe('sent');
    });
  });

  describe('markStuckQueued (system)', () => {
    it('marks the pending ones queued, across tenants, and leaves the others', async () => {
      const pending = await insertDelivery(pool, { tenantId: tenant, status: 'pending' });
      const othersPending = await insertDelivery(pool, { tenantId: other, status: 'pending' });
      const sending = await insertDelivery(pool, { tenantId: tenant, status: 'sending' });
      const sent = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
      await deliveries.markStuckQueued([pending, othersPending, sending, sent]);
      expect((await deliveryState(pool, pending)).status).toBe('queued');
      expect((await deliveryState(pool, othersPending)).status).toBe('queued');
      expect((await deliveryState(pool, sending)).status).toBe('sending');
      expect((await deliveryState(pool, sent)).status).toBe('sent');
      await expect(deliveries.markStuckQueued([])).resolves.toBeUndefined();
    });
  });

  describe('expireDeadLetters (system)', () => {
    it('fails the dead letters older than the limit, across tenants; newer ones and others stay', async () => {
      const old = await insertDelivery(pool, { tenantId: tenant, status: 'dead', age: 7200, lastError: 'timeout' });
      const othersOld = await insertDelivery(pool, { tenantId: other, status: 'dead', age: 7200 });
      const young = await insertDelivery(pool, { tenantId: tenant, status: 'dead', age: 10 });
      const oldSent = await insertDelivery(pool, { tenantId: tenant, status: 'sent', age: 7200 });
      const expired = await deliveries.expireDeadLetters(3600, 1000);
      expect(expired).toEqual(expect.arrayContaining([old, othersOld]));
      expect(expired).not.toContain(young);
      expect(expired).not.toContain(oldSent);
      expect(await deliveryState(pool, old)).toMatchObject({
        status: 'failed',
        lastError: 'expired from the dead-letter queue: timeout',
      });
      expect((await deliveryState(pool, young)).status).toBe('dead');
      expect((await deliveryState(pool, oldSent)).status).toBe('sent');
    });
  });

  describe('deadLetterCopies (system)', () => {
    it('answers the dead ones among the ids, as the dead-letter queue shows them', async () => {
      const dead = await insertDelivery(pool, { tenantId: other, status: 'dead', attempts: 3, lastError: 'timeout' });
      const sent = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
      const copies = await deliveries.deadLetterCopies([dead, sent]);
      expect(copies).toEqual([
        {
          deliveryId: dead,
          tenantId: other,
          eventId: expect.any(String),
          channel: 'email',
          attempts: 3,
          lastError: 'timeout',
        },
      ]);
      expect(await deliveries.deadLetterCopies([])).toEqual([]);
    });
  });

  describe("a claim's writes", () => {
    const claimed = async (status = 'queued'): Promise<ClaimedDelivery> => {
      const id = await insertDelivery(pool, { tenantId: tenant, status });
      const [claim] = (await deliveries.claim(tenant, [id], 30)).claimed;
      if (!claim) throw new Error('not claimed');
      return claim;
    };

    it('finish applies an end sending may become, and not one it may not (sending → delivered, pending)', async () => {
      const ok = await claimed();
      const skipsReceipt = await claimed();
      const backwards = await claimed();
      const ends: { delivery: ClaimedDelivery; end: DeliveryEnd }[] = [
        { delivery: ok, end: { status: 'sent', providerMessageId: 'm-1' } },
        { delivery: skipsReceipt, end: { status: 'delivered' } as unknown as DeliveryEnd },
        { delivery: backwards, end: { status: 'pending' } as unknown as DeliveryEnd },
      ];
      const finished = await deliveries.finish(ends);
      expect([...finished]).toEqual([ok.id]);
      expect((await deliveryState(pool, ok.id)).status).toBe('sent');
      expect((await deliveryState(pool, skipsReceipt.id)).status).toBe('sending');
      expect((await deliveryState(pool, backwards.id)).status).toBe('sending');
    });

    it('finish of a peeked (in-app) claim ends it in one write, through the sending it implies', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'queued', channel: 'inapp' });
      const [peeked] = (await deliveries.peek(tenant, [id])).claimed;
      expect([...(await deliveries.finish([{ delivery: peeked, end: { status: 'failed', reason: 'bad' } }]))]).toEqual([
        id,
      ]);
      expect((await deliveryState(pool, id)).status).toBe('failed');
    });

    it('holdBack applies deferred or rate_limited, and not a status sending may not become', async () => {
      const deferred = await claimed();
      const wrong = await claimed();
      await deliveries.holdBack([
        {
          delivery: deferred,
          hold: { status: 'deferred', reason: 'quiet hours', notBefore: new Date(Date.now() + 60_000) },
        },
        { delivery: wrong, hold: { status: 'delivered', reason: 'no' } as unknown as HoldBack },
      ]);
      expect(await deliveryState(pool, deferred.id)).toMatchObject({ status: 'deferred', attempts: 0 });
      expect((await deliveryState(pool, wrong.id)).status).toBe('sending');
    });

    it('sendInapp and release move a claim to sent and queued', async () => {
      const id = await insertDelivery(pool, { tenantId: tenant, status: 'queued', channel: 'inapp' });
      const [peeked] = (await deliveries.peek(tenant, [id])).claimed;
      const written = await deliveries.sendInapp(tenant, [
        { delivery: peeked, message: { title: 't', body: 'b', url: null, data: {} } },
      ]);
      expect(written.map((m) => m.id)).toEqual([id]);
      expect((await deliveryState(pool, id)).status).toBe('sent');

      const released = await claimed();
      await deliveries.release([released]);
      expect((await deliveryState(pool, released.id)).status).toBe('queued');
    });

    it("a claim takes neither a sent delivery nor another tenant's", async () => {
      const sent = await insertDelivery(pool, { tenantId: tenant, status: 'sent' });
      const othersQueued = await insertDelivery(pool, { tenantId: other, status: 'queued' });
      const result = await deliveries.claim(tenant, [sent, othersQueued], 30);
      expect(result.claimed).toEqual([]);
      expect((await deliveryState(pool, sent)).status).toBe('sent');
      expect((await deliveryState(pool, othersQueued)).status).toBe('queued');
    });
  });
});
