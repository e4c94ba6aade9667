import twilio from 'twilio';
import { Pool } from 'pg';
import { newId } from '@herald/core';
import { findSuppression, suppress, type SuppressionInput } from '@herald/db';
import { SandboxHub, TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import { createTestDatabase, type TestDatabase } from '../helpers/databases';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { createTenant } from '../helpers/tenant';

const HOUR = 3_600_000;

/**
 * An address has one suppression entry; when a second signal arrives the stronger reason wins and a
 * permanent signal is never shortened by a temporary one (issue 17, defect 5: a manual suppression
 * expiring in an hour, then a STOP, left the entry `manual` with its expiry, so texts resumed).
 */
describe('suppressions: the stronger signal wins, a permanent one never expires', () => {
  describe('suppress() merging signals on one address', () => {
    let db: TestDatabase;
    let pool: Pool;
    beforeAll(async () => {
      db = await createTestDatabase('suppress', { migrate: true });
      pool = new Pool({ connectionString: db.url, max: 2 });
    });
    afterAll(async () => {
      await pool?.end();
      await db?.drop();
    });

    const tenantId = newId();
    let n = 0;
    /** A fresh address, and a suppress() for it with the given signal. */
    function address() {
      const phone = `+1555300${String(++n).padStart(4, '0')}`;
      const signal = (s: Partial<SuppressionInput> & Pick<SuppressionInput, 'reason' | 'source'>) =>
        suppress(pool, { tenantId, channel: 'sms', address: phone, ...s });
      const entry = async () => {
        const { rows } = await pool.query(
          `SELECT id, reason, source, detail, delivery_id AS "deliveryId", expires_at AS "expiresAt"
           FROM suppressions WHERE tenant_id = $1 AND address = $2`,
          [tenantId, phone],
        );
        expect(rows).toHaveLength(1);
        return rows[0] as Record<string, unknown>;
      };
      return { phone, signal, entry };
    }
    const inAnHour = () => new Date(Date.now() + HOUR);

    it('an opt-out after a temporary manual entry takes it over for good', async () => {
      const { phone, signal, entry } = address();
      const id = await signal({ reason: 'manual', source: 'admin', detail: 'paused', expiresAt: inAnHour() });
      expect(await signal({ reason: 'opt_out', source: 'twilio', detail: 'texted STOP' })).toBe(id);
      expect(await entry()).toMatchObject({
        id,
        reason: 'opt_out',
        source: 'twilio',
        detail: 'texted STOP',
        expiresAt: null,
      });
      expect(await findSuppression(pool, tenantId, 'sms', phone)).toMatchObject({ reason: 'opt_out' });
    });

    it('a temporary manual entry neither weakens nor adds an expiry to a permanent one', async () => {
      const { signal, entry } = address();
      const deliveryId = newId();
      await signal({ reason: 'invalid_address', source: 'twilio', detail: 'carrier: 30006', deliveryId });
      await signal({ reason: 'manual', source: 'admin', detail: 'paused', expiresAt: inAnHour() });
      expect(await entry()).toMatchObject({
        reason: 'invalid_address',
        source: 'twilio',
        detail: 'carrier: 30006',
        deliveryId,
        expiresAt: null,
      });
    });

    it('a stronger provider signal takes over with its delivery id; a weaker one leaves the entry as it was', async () => {
      const { signal, entry } = address();
      const bounced = newId();
      const complained = newId();
      await signal({ reason: 'manual', source: 'admin' });
      await signal({ reason: 'hard_bounce', source: 'ses', detail: 'bounced', deliveryId: bounced });
      expect(await entry()).toMatchObject({ reason: 'hard_bounce', source: 'ses', deliveryId: bounced });
      await signal({ reason: 'complaint', source: 'ses', detail: 'abuse', deliveryId: complained });
      expect(await entry()).toMatchObject({ reason: 'complaint', detail: 'abuse', deliveryId: complained });
      await signal({ reason: 'hard_bounce', source: 'smtp', detail: 'later bounce', deliveryId: newId() });
      await signal({ reason: 'complaint', source: 'sendgrid', detail: 'second complaint', deliveryId: newId() });
      expect(await entry()).toMatchObject({ reason: 'complaint', source: 'ses', deliveryId: complained });
    });

    it('a live entry lasts as long as the longer of two signals', async () => {
      const longer = address();
      await longer.signal({ reason: 'manual', source: 'admin', expiresAt: inAnHour() });
      const later = new Date(Date.now() + 5 * HOUR);
      await longer.signal({ reason: 'manual', source: 'admin', expiresAt: later });
      expect((await longer.entry()).expiresAt).toEqual(later);
      await longer.signal({ reason: 'manual', source: 'admin', expiresAt: inAnHour() });
      expect((await longer.entry()).expiresAt).toEqual(later);
      await longer.signal({ reason: 'manual', source: 'admin' });
      expect((await longer.entry()).expiresAt).toBeNull();
    });

    it('an expired entry is renewed by any new signal, a temporary one included', async () => {
      const { phone, signal, entry } = address();
      await signal({ reason: 'opt_out', source: 'admin', expiresAt: new Date(Date.now() - 1000) });
      expect(await findSuppression(pool, tenantId, 'sms', phone)).toBeNull();
      const until = inAnHour();
      await signal({ reason: 'manual', source: 'admin', detail: 'again', expiresAt: until });
      expect(await entry()).toMatchObject({ reason: 'manual', detail: 'again', expiresAt: until });
      expect(await findSuppression(pool, tenantId, 'sms', phone)).toMatchObject({ reason: 'manual' });
    });
  });

  describe('through the api: an operator pauses a number, then its owner texts STOP', () => {
    let isolated: IsolatedEnv;
    let herald: RunningHerald;
    beforeAll(async () => {
      isolated = await isolatedEnv('suppress-api');
      herald = await startHerald({ env: isolated.env, roles: [] });
    });
    afterAll(async () => {
      await herald?.close();
      await isolated?.drop();
    });

    it('the STOP turns the paused entry into a permanent opt-out; a later pause does not undo it', async () => {
      const tenant = await createTenant(herald.url);
      const phone = '+15553009999';
      const paused = await tenant.admin('POST', '/v1/suppressions', {
        channel: 'sms',
        address: phone,
        reason: 'manual',
        expiresAt: new Date(Date.now() + HOUR).toISOString(),
      });
      expect(paused.status).toBe(201);
      expect(paused.body.expiresAt).toBeDefined();

      const params = { From: phone, To: TWILIO_SANDBOX_FROM, Body: 'STOP' };
      const url = `${herald.config.publicUrl}/v1/feedback/twilio/inbound`;
      const { authToken } = await herald.app.get(SandboxHub).twilio();
      const stop = await client(herald.url)(
        'POST',
        '/v1/feedback/twilio/inbound',
        new URLSearchParams(params).toString(),
        {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, url, params),
        },
      );
      expect(stop.status).toBe(200);

      const listed = async () =>
        (await tenant.admin('GET', `/v1/suppressions?channel=sms&address=${encodeURIComponent(phone)}`)).body.items;
      const [entry] = await listed();
      expect(entry).toMatchObject({ id: paused.body.id, reason: 'opt_out', source: 'twilio' });
      expect(entry.expiresAt).toBeUndefined();

      // The operator's pause again, as the admin route sends it: the opt-out is kept, still permanent.
      const again = await tenant.admin('POST', '/v1/suppressions', {
        channel: 'sms',
        address: phone,
        reason: 'manual',
        expiresAt: new Date(Date.now() + HOUR).toISOString(),
      });
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ id: paused.body.id, reason: 'opt_out' });
      expect(again.body.expiresAt).toBeUndefined();
      expect(await listed()).toHaveLength(1);
    });
  });
});
