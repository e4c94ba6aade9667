import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import twilio from 'twilio';
import { TWILIO_SANDBOX_FROM, TwilioSandbox } from '@herald/sandbox';
import { migrate } from '../../libs/db/src/migrate';
import { createTestDatabase } from '../helpers/databases';
import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// Herald's shared senders here: the account's TWILIO_FROM and the fallback account's `from` (plus the
// sandbox's number, which is shared whatever the configuration).
const SHARED = '+14155550000';
const FALLBACK = '+14155550001';

/**
 * An SMS sender number has one owner, given by the operator (root key): tenants cannot pick one,
 * cannot share one, and cannot take Herald's shared senders. A STOP texted to a tenant's own number
 * is that tenant's; a STOP to a shared sender is every tenant's that sends from it.
 */
describe('SMS sender numbers: one owner each, assigned by the operator', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let primary: TwilioSandbox;
  let secondary: TwilioSandbox;
  let db: PgClient;
  let number = 0;
  const root = () => client(herald.url, TEST_ROOT_KEY);
  /** A number of its own for each test, so the tests do not depend on one another. */
  const freshNumber = () => `+1415555${String(1000 + ++number)}`;

  beforeAll(async () => {
    primary = await TwilioSandbox.start();
    secondary = await TwilioSandbox.start({ accountSid: `AC${'2'.repeat(32)}`, authToken: 'second-token' });
    const fallback = new URL(secondary.url);
    fallback.username = secondary.accountSid;
    fallback.password = secondary.authToken;
    fallback.searchParams.set('from', FALLBACK);
    isolated = await isolatedEnv('sms-senders');
    herald = await startHerald({
      env: {
        ...isolated.env,
        TWILIO_ACCOUNT_SID: primary.accountSid,
        TWILIO_AUTH_TOKEN: primary.authToken,
        TWILIO_FROM: SHARED,
        TWILIO_API_BASE_URL: primary.url,
        TWILIO_FALLBACK_URLS: fallback.toString(),
      },
      roles: ['relay', 'fanout', 'sms'],
    });
    db = new PgClient({ connectionString: isolated.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await herald?.close();
    await isolated?.drop();
    await primary?.stop();
    await secondary?.stop();
  });

  const assign = (tenant: TestTenant, from: string) => root()('PUT', `/v1/tenants/${tenant.id}/sms-sender`, { from });
  const smsFromOf = async (tenant: TestTenant) => (await tenant.admin('GET', '/v1/settings')).body.smsFrom;

  function expectProblem(answer: Answer, status: number, path: string) {
    expect([answer.status, answer.headers.get('content-type')?.split(';')[0]]).toEqual([
      status,
      'application/problem+json',
    ]);
    expect(answer.body.errors).toEqual([expect.objectContaining({ path })]);
  }

  /** An inbound SMS as Twilio posts it, signed with the account's auth token. */
  function inbound(from: string, to: string, body: string) {
    const params = { From: from, To: to, Body: body, MessageSid: `SM${'0'.repeat(30)}${++number}` };
    const url = `${herald.config.publicUrl}/v1/feedback/twilio/inbound`;
    return client(herald.url)('POST', '/v1/feedback/twilio/inbound', new URLSearchParams(params).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(primary.authToken, url, params),
    });
  }

  async function optedOut(tenant: TestTenant, phone: string): Promise<boolean> {
    const answer = await tenant.admin('GET', `/v1/suppressions?channel=sms&address=${encodeURIComponent(phone)}`);
    return answer.body.items.some((s: { reason: string }) => s.reason === 'opt_out');
  }

  it('gives a number to one tenant only: a second claim is a 409, in the api and in the database', async () => {
    const [a, b] = [await createTenant(herald.url), await createTenant(herald.url)];
    const shop = freshNumber();
    const assigned = await assign(a, shop);
    expect(assigned.status).toBe(200);
    expect(assigned.body).toEqual({ id: a.id, name: expect.any(String), smsFrom: shop });
    expect((await assign(a, shop)).status).toBe(200); // the same assignment again changes nothing

    const second = await assign(b, shop);
    expectProblem(second, 409, 'from');
    expect(second.body.type).toBe('/problems/sms-sender-taken');
    expect([await smsFromOf(a), await smsFromOf(b)]).toEqual([shop, null]);
    // Even a write that skips the api (or races it) cannot give the number a second owner.
    await expect(db.query('UPDATE tenants SET sms_from = $2 WHERE id = $1', [b.id, shop])).rejects.toMatchObject({
      code: '23505',
    });

    // Released, the number is free for another tenant.
    expect((await root()('DELETE', `/v1/tenants/${a.id}/sms-sender`)).status).toBe(204);
    expect(await smsFromOf(a)).toBeNull();
    expect((await assign(b, shop)).status).toBe(200);
    expect((await root()('GET', `/v1/tenants/${b.id}/sms-sender`)).body).toMatchObject({ id: b.id, smsFrom: shop });
    expect(
      (await root()('PUT', '/v1/tenants/00000000-0000-4000-8000-000000000000/sms-sender', { from: freshNumber() }))
        .status,
    ).toBe(404);
    expectProblem(await assign(a, '555-0100'), 400, 'from');
  });

  it('lets a tenant admin read its smsFrom but not set it (403 naming smsFrom)', async () => {
    const [a, b] = [await createTenant(herald.url), await createTenant(herald.url)];
    const own = freshNumber();
    expect((await assign(a, own)).status).toBe(200);
    for (const attempt of [{ smsFrom: own }, { smsFrom: freshNumber() }, { smsFrom: null }]) {
      const answer = await b.admin('PATCH', '/v1/settings', attempt);
      expectProblem(answer, 403, 'smsFrom');
      expect(answer.body.detail).toMatch(/assigned by the operator/);
    }
    const release = await a.admin('PATCH', '/v1/settings', { smsFrom: null, quietHours: null });
    expectProblem(release, 403, 'smsFrom');
    expect([await smsFromOf(a), await smsFromOf(b)]).toEqual([own, null]);
    // The rest of the settings stay the tenant's to change, and the answer still shows the number.
    const limits = await a.admin('PATCH', '/v1/settings', {
      rateLimits: { sms: { limit: 5, windowSeconds: 60, policy: 'drop' } },
    });
    expect(limits.status).toBe(200);
    expect(limits.body.smsFrom).toBe(own);
  });

  it("refuses Herald's shared senders to every tenant: TWILIO_FROM, the fallbacks' and the sandbox's", async () => {
    const tenant = await createTenant(herald.url);
    for (const shared of [SHARED, FALLBACK, TWILIO_SANDBOX_FROM]) {
      const answer = await assign(tenant, shared);
      expectProblem(answer, 409, 'from');
      expect([shared, answer.body.type]).toEqual([shared, '/problems/sms-sender-shared']);
    }
    expect(await smsFromOf(tenant)).toBeNull();
  });

  it('a STOP to a shared sender opts out of every tenant sending from it, and START lifts it for them all', async () => {
    const owner = await createTenant(herald.url);
    const [b, c, legacy] = [
      await createTenant(herald.url),
      await createTenant(herald.url),
      await createTenant(herald.url),
    ];
    expect((await assign(owner, freshNumber())).status).toBe(200);
    // A tenant that set the shared number as its own before numbers had owners sends from it too.
    await db.query('UPDATE tenants SET sms_from = $2 WHERE id = $1', [legacy.id, SHARED]);

    for (const [sender, phone] of [
      [SHARED, '+14155557001'],
      [FALLBACK, '+14155557002'],
    ] as const) {
      expect((await inbound(phone, sender, 'STOP')).status).toBe(200);
      const states = [await optedOut(b, phone), await optedOut(c, phone), await optedOut(legacy, phone)];
      expect([sender, states, await optedOut(owner, phone)]).toEqual([sender, [true, true, true], false]);
    }
    expect((await inbound('+14155557001', SHARED, 'START')).status).toBe(200);
    expect([await optedOut(b, '+14155557001'), await optedOut(c, '+14155557001')]).toEqual([false, false]);
  });

  it("a STOP to a tenant's own number opts out of that tenant only; each tenant sends from the number its STOPs come to", async () => {
    const [a, b] = [await createTenant(herald.url), await createTenant(herald.url)];
    const own = freshNumber();
    expect((await assign(a, own)).status).toBe(200);
    const phone = '+14155557003';
    expect((await inbound(phone, own, 'STOP')).status).toBe(200);
    expect([await optedOut(a, phone), await optedOut(b, phone)]).toEqual([true, false]);

    // Sending agrees: A's texts leave from its number, B's from the shared sender.
    const rule = { channels: [{ channel: 'sms', template: { body: 'Hello' } }] };
    const other = '+14155557004';
    for (const tenant of [a, b]) {
      expect((await tenant.admin('PUT', '/v1/rules/hello', rule)).status).toBe(200);
      const event = await tenant.ingest('POST', '/v1/events', {
        type: 'hello',
        to: { subscriberId: 'p', phone: other },
      });
      await waitForDeliveries(tenant.ingest, event.body.id, 'sent', 60_000);
    }
    expect(
      primary
        .messages()
        .filter((m) => m.to === other)
        .map((m) => m.from),
    ).toEqual([own, SHARED]);
  });
});

describe('the migration that gives each number one owner', () => {
  it("keeps the earliest-created tenant's claim on a number several tenants set, and clears the others", async () => {
    const all = path.join(__dirname, '..', '..', 'prisma', 'migrations');
    const before = await mkdtemp(path.join(os.tmpdir(), 'herald-migrations-'));
    const db = await createTestDatabase('sms-sender-migration');
    const client = new PgClient({ connectionString: db.url });
    try {
      // The database as it was before the migration, holding the duplicates issue 17 found.
      for (const name of await readdir(all)) {
        if (name < '20261207010000_sms_sender_owner')
          await cp(path.join(all, name), path.join(before, name), { recursive: true });
      }
      await migrate(db.url, before);
      await client.connect();
      const tenants = [
        ['00000000-0000-4000-8000-000000000003', 'first', '2026-01-01T00:00:00Z', '+14155550100'],
        ['00000000-0000-4000-8000-000000000002', 'second', '2026-02-01T00:00:00Z', '+14155550100'],
        // created at the same moment as "first": the smaller id is the earlier claim
        ['00000000-0000-4000-8000-000000000004', 'tied', '2026-01-01T00:00:00Z', '+14155550100'],
        ['00000000-0000-4000-8000-000000000001', 'alone', '2026-03-01T00:00:00Z', '+14155550199'],
        ['00000000-0000-4000-8000-000000000005', 'none', '2026-03-01T00:00:00Z', null],
      ];
      for (const row of tenants) {
        await client.query('INSERT INTO tenants (id, name, created_at, sms_from) VALUES ($1, $2, $3, $4)', row);
      }

      expect(await migrate(db.url)).toContain('20261207010000_sms_sender_owner');
      const { rows } = await client.query('SELECT name, sms_from FROM tenants ORDER BY name');
      expect(Object.fromEntries(rows.map((r) => [r.name, r.sms_from]))).toEqual({
        alone: '+14155550199',
        first: '+14155550100',
        none: null,
        second: null,
        tied: null,
      });
    } finally {
      await client.end().catch(() => undefined);
      await db.drop();
      await rm(before, { recursive: true, force: true });
    }
  });
});
