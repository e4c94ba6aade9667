import { Client, Pool } from 'pg';
import { signInboxToken } from '@herald/core';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually, type Answer } from '../helpers/http';
import { createTenant, inappRule, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const event = (orderId: string) => ({ type: 'order.shipped', to: { subscriberId: 'dora' }, data: { orderId } });

describe('ingest: idempotency, batches, validation and auth', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('ingest');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/order.shipped', inappRule);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  describe('Idempotency-Key', () => {
    it('replays the first answer for the same key and body, and delivers once', async () => {
      const headers = { 'idempotency-key': 'order-7-shipped' };
      const first = await tenant.ingest('POST', '/v1/events', event('7'), headers);
      expect(first.status).toBe(202);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      // key order in the body does not make it a different body
      const again = await tenant.ingest(
        'POST',
        '/v1/events',
        { data: { orderId: '7' }, to: { subscriberId: 'dora' }, type: 'order.shipped' },
        headers,
      );
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      await waitForDeliveries(tenant.ingest, first.body.id);
      const inbox = await tenant.admin('GET', '/v1/inbox?subscriberId=dora');
      expect(inbox.body.items.filter((i: { title: string }) => i.title === 'Order 7 shipped')).toHaveLength(1);
    });

    it('answers 422 idempotency-key-reused when the body differs', async () => {
      const headers = { 'idempotency-key': 'order-8' };
      await tenant.ingest('POST', '/v1/events', event('8'), headers);
      const reused = await tenant.ingest('POST', '/v1/events', event('9'), headers);
      expect(reused.status).toBe(422);
      expect(reused.headers.get('content-type')).toContain('application/problem+json');
      expect(reused.body.type).toMatch(/idempotency-key-reused$/);
    });

    it('scopes keys per tenant', async () => {
      const other = await createTenant(herald.url);
      const headers = { 'idempotency-key': 'shared-key' };
      const mine = await tenant.ingest('POST', '/v1/events', event('10'), headers);
      const theirs = await other.ingest('POST', '/v1/events', event('11'), headers);
      expect(theirs.status).toBe(202);
      expect(theirs.body.id).not.toBe(mine.body.id);
    });

    it('gives concurrent requests with one key one event: the rest are replays or 409 with Retry-After', async () => {
      const headers = { 'idempotency-key': 'burst-1' };
      const burst = () =>
        Promise.all(Array.from({ length: 10 }, () => tenant.ingest('POST', '/v1/events', event('12'), headers)));
      const answers = await burst();
      const accepted = answers.filter((a) => a.status === 202);
      expect(new Set(accepted.map((a) => a.body.id)).size).toBe(1);
      for (const a of answers.filter((a) => a.status !== 202)) {
        expect(a.status).toBe(409);
        expect(a.headers.get('retry-after')).toBe('1');
      }
      // Once the key's event is stored, concurrent retries are all replays of it.
      const retries = await burst();
      expect(retries.map((a) => [a.status, a.body.id, a.headers.get('idempotent-replayed')])).toEqual(
        Array(10).fill([202, accepted[0].body.id, 'true']),
      );
    });

    it('answers 409 with Retry-After while the first request is still being written, then replays it', async () => {
      // A transaction of the test's own holds every write to `events` back, so the first request is
      // still writing its event when the second comes: Postgres shows its insert waiting for the lock.
      const locker = new Client({ connectionString: isolated.env.DATABASE_URL });
      const observer = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 1 });
      await locker.connect();
      const headers = { 'idempotency-key': 'held-1' };
      let first: Promise<Answer> | undefined;
      try {
        await locker.query('BEGIN');
        await locker.query('LOCK TABLE events IN SHARE MODE');
        first = tenant.ingest('POST', '/v1/events', event('14'), headers);
        await eventually(
          async () => {
            const { rows } = await observer.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted`,
            );
            return rows[0].n > 0 ? true : undefined;
          },
          15_000,
          "the first request's insert waiting for the lock",
        );
        // (bounded: a second request that waited for the lock too would never answer while it is held)
        let timer: NodeJS.Timeout | undefined;
        const second = await Promise.race([
          tenant.ingest('POST', '/v1/events', event('14'), headers),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('the second request waited for the first')), 15_000);
          }),
        ]).finally(() => clearTimeout(timer));
        expect(second.status).toBe(409);
        expect(second.headers.get('retry-after')).toBe('1');
        expect(second.headers.get('content-type')).toContain('application/problem+json');
        expect(second.body.type).toMatch(/idempotency-key-in-flight$/);
      } finally {
        await locker.query('COMMIT');
        await locker.end();
        await observer.end();
      }
      const stored = await first!;
      expect(stored.status).toBe(202);
      expect(stored.headers.get('idempotent-replayed')).toBeNull();
      const retry = await tenant.ingest('POST', '/v1/events', event('14'), headers);
      expect([retry.status, retry.body.id, retry.headers.get('idempotent-replayed')]).toEqual([
        202,
        stored.body.id,
        'true',
      ]);
    });

    it('refuses a malformed key', async () => {
      const bad = await tenant.ingest('POST', '/v1/events', event('13'), { 'idempotency-key': 'k'.repeat(256) });
      expect(bad.status).toBe(400);
      expect(bad.body.errors[0].path).toBe('Idempotency-Key header');
    });
  });

  describe('topics that do not exist', () => {
    it('accepts the event and warns, naming where in `to` each unknown topic is; one batch entry at a time', async () => {
      expect((await tenant.admin('PUT', '/v1/topics/known/subscribers', { add: ['k1'] })).status).toBe(200);
      const alone = await tenant.ingest('POST', '/v1/events', { type: 'order.shipped', to: { topic: 'nobody' } });
      expect([alone.status, alone.body]).toEqual([
        202,
        {
          id: expect.any(String),
          status: 'accepted',
          warnings: [{ path: 'to.topic', message: expect.stringContaining('no topic "nobody" exists') }],
        },
      ]);
      const mixed = await tenant.ingest('POST', '/v1/events', {
        type: 'order.shipped',
        to: [{ topic: 'known' }, { topic: 'typo' }, { subscriberId: 'k2' }],
      });
      expect(mixed.body.warnings).toEqual([{ path: 'to.1.topic', message: expect.stringContaining('"typo"') }]);
      const known = await tenant.ingest('POST', '/v1/events', { type: 'order.shipped', to: { topic: 'known' } });
      expect(known.body).toEqual({ id: expect.any(String), status: 'accepted' });

      const batch = await tenant.ingest('POST', '/v1/events/batch', {
        events: [
          { type: 'order.shipped', to: { topic: 'known' } },
          { type: 'order.shipped', to: { topic: 'ghost' } },
        ],
      });
      expect(batch.body.results).toEqual([
        { id: expect.any(String), status: 202 },
        {
          id: expect.any(String),
          status: 202,
          warnings: [{ path: 'to.topic', message: expect.stringContaining('"ghost"') }],
        },
      ]);
    });
  });

  describe('POST /v1/events/batch', () => {
    it('answers 207 with one result per event, in input order', async () => {
      const answer = await tenant.ingest('POST', '/v1/events/batch', {
        events: [
          { ...event('20'), idempotencyKey: 'batch-20' },
          { type: 'order.shipped', to: { subscriberId: '' } },
          { ...event('20'), idempotencyKey: 'batch-20' },
          { ...event('21') },
        ],
      });
      expect(answer.status).toBe(207);
      const [ok, invalid, duplicate, plain] = answer.body.results;
      expect(ok).toEqual({ id: expect.any(String), status: 202 });
      expect(invalid).toMatchObject({ status: 400, error: { errors: [{ path: 'events[1].to.subscriberId' }] } });
      // A key repeated within the batch (same body) is the first event, answered as a replay.
      expect(duplicate).toEqual({ id: ok.id, status: 202, replayed: true });
      expect(plain).toEqual({ id: expect.any(String), status: 202 });
      const replay = await tenant.ingest('POST', '/v1/events/batch', {
        events: [{ ...event('20'), idempotencyKey: 'batch-20' }],
      });
      expect(replay.body.results).toEqual([{ id: ok.id, status: 202, replayed: true }]);
      await waitForDeliveries(tenant.ingest, plain.id);
    });

    it('refuses an empty or oversized batch', async () => {
      expect((await tenant.ingest('POST', '/v1/events/batch', { events: [] })).status).toBe(400);
      const tooMany = { events: Array.from({ length: 1001 }, () => event('x')) };
      expect((await tenant.ingest('POST', '/v1/events/batch', tooMany)).status).toBe(400);
    });
  });

  describe('bad input is a 4xx problem+json with field paths, never a 500', () => {
    it.each([
      ['no type', { to: { subscriberId: 'a' } }, 'type'],
      ['empty recipient list', { type: 't', to: [] }, 'to'],
      ['bad email', { type: 't', to: { subscriberId: 'a', email: 'not-an-email' } }, 'to.email'],
      [
        'bad phone in a list',
        { type: 't', to: [{ subscriberId: 'a' }, { subscriberId: 'b', phone: '555' }] },
        'to[1].phone',
      ],
      ['bad time zone', { type: 't', to: { subscriberId: 'a', timezone: 'Mars/Olympus' } }, 'to.timezone'],
      ['data not an object', { type: 't', to: { subscriberId: 'a' }, data: [1, 2] }, 'data'],
      ['bad sendAt', { type: 't', to: { subscriberId: 'a' }, sendAt: 'soon' }, 'sendAt'],
      ['unknown property', { type: 't', to: { subscriberId: 'a' }, extra: 1 }, 'body'],
      [
        'too many recipients',
        { type: 't', to: Array.from({ length: 1001 }, (_, i) => ({ subscriberId: `s${i}` })) },
        'to',
      ],
    ])('%s', async (_, body, path) => {
      const answer = await tenant.ingest('POST', '/v1/events', body);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body).toMatchObject({ status: 400, title: expect.any(String), requestId: expect.any(String) });
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    });

    it.each([
      ['malformed JSON', '{"type": ', 400],
      ['a JSON string', '"hello"', 400],
      ['null', 'null', 400],
    ])('%s', async (_, raw, status) => {
      const answer = await tenant.ingest('POST', '/v1/events', raw);
      expect(answer.status).toBe(status);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    });

    it('refuses a body over the limit with 413', async () => {
      const answer = await tenant.ingest('POST', '/v1/events', {
        type: 't',
        to: { subscriberId: 'a' },
        data: { blob: 'x'.repeat(6 * 1024 * 1024) },
      });
      expect(answer.status).toBe(413);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    });

    it('refuses other media types with 415', async () => {
      const answer = await tenant.ingest('POST', '/v1/events', 'type=t', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(answer.status).toBe(415);
    });

    it('answers unknown routes and unknown ids with 404 problem+json', async () => {
      const route = await tenant.ingest('GET', '/v1/nothing-here');
      expect(route.status).toBe(404);
      expect(route.headers.get('content-type')).toContain('application/problem+json');
      expect((await tenant.ingest('GET', '/v1/events/not-a-uuid')).status).toBe(404);
      expect((await tenant.ingest('GET', '/v1/events/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    });
  });

  describe('auth', () => {
    it('401 without a key or with a wrong one, 403 with the wrong scope', async () => {
      const anonymous = client(herald.url);
      expect((await anonymous('POST', '/v1/events', event('1'))).status).toBe(401);
      expect((await client(herald.url, 'hk_admin_forged')('POST', '/v1/events', event('1'))).status).toBe(401);
      expect((await tenant.ingest('PUT', '/v1/rules/x', inappRule)).status).toBe(403);
      expect((await tenant.ingest('POST', '/v1/tenants', { name: 'x' })).status).toBe(403);
      expect((await tenant.admin('POST', '/v1/tenants', { name: 'x' })).status).toBe(403);
      const problem = await anonymous('GET', '/v1/rules');
      expect(problem.headers.get('content-type')).toContain('application/problem+json');
    });

    it('an admin key may send events too; another tenant cannot read them', async () => {
      const sent = await tenant.admin('POST', '/v1/events', event('30'));
      expect(sent.status).toBe(202);
      const other = await createTenant(herald.url);
      expect((await other.admin('GET', `/v1/events/${sent.body.id}`)).status).toBe(404);
      expect((await tenant.ingest('GET', `/v1/events/${sent.body.id}`)).status).toBe(200);
    });

    it('inbox tokens: forged or expired → 401; a token reads only its own subscriber', async () => {
      const token = (await tenant.admin('POST', '/v1/subscribers/dora/inbox-token')).body.token as string;
      const tampered = token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA');
      expect((await client(herald.url, tampered)('GET', '/v1/inbox')).status).toBe(401);
      expect((await client(herald.url, token)('GET', '/v1/events/00000000-0000-4000-8000-000000000000')).status).toBe(
        403,
      );
      const own = await client(herald.url, token)('GET', '/v1/inbox');
      const asked = await client(herald.url, token)('GET', '/v1/inbox?subscriberId=someone-else');
      expect(asked.body).toEqual(own.body);
      const expired = signInboxToken(
        { tenantId: tenant.id, subscriberId: 'dora', exp: Math.floor(Date.now() / 1000) - 1 },
        herald.config.tokenSecret,
      );
      expect((await client(herald.url, expired)('GET', '/v1/inbox')).status).toBe(401);
    });

    it('revokes a key', async () => {
      const created = await tenant.admin('POST', '/v1/keys', { scope: 'ingest' });
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^hk_ingest_/);
      const revokable = client(herald.url, created.body.key);
      expect((await revokable('POST', '/v1/events', event('40'))).status).toBe(202);
      expect((await tenant.admin('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(204);
      expect((await tenant.admin('DELETE', `/v1/keys/${created.body.id}`)).status).toBe(404);
      expect((await revokable('POST', '/v1/events', event('41'))).status).toBe(401);
    });
  });
});
