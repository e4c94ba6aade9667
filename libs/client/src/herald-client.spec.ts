import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeraldClient, type HeraldClientOptions } from './herald-client';
import { HeraldProblemError } from './problem-error';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: any;
}

/** What the server does with one request: answer, cut the connection without answering, or never answer. */
type Script = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang-up' | 'hold';

const problem = (status: number, type: string, extra: object = {}) => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: { type: `/problems/${type}`, title: type, status, requestId: 'req-1', ...extra },
});
const accepted = {
  status: 202,
  headers: { 'content-type': 'application/json' },
  body: { id: 'evt-1', status: 'accepted' },
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A local HTTP server answering each request with the next scripted answer, recording what it received. */
class ScriptedServer {
  readonly received: Received[] = [];
  private readonly scripts: Script[] = [];
  private arrivals: (() => void)[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.received.push({
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: text && JSON.parse(text),
        });
        this.arrivals.splice(0).forEach((arrived) => arrived());
        const script = this.scripts.shift() ?? { status: 200, body: {} };
        if (script === 'hang-up') return void req.socket.destroy();
        if (script === 'hold') return;
        const body = typeof script.body === 'string' ? script.body : JSON.stringify(script.body ?? {});
        res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers }).end(body);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(...scripts: Script[]): void {
    this.scripts.push(...scripts);
  }

  /** Resolves when the next request has arrived. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.arrivals.push(resolve));
  }

  reset(): void {
    this.received.length = 0;
    this.scripts.length = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('HeraldClient against a local HTTP server', () => {
  const server = new ScriptedServer();
  let delays: number[];
  const NOW = Date.parse('2026-03-01T12:00:00Z');
  const client = (options: Partial<HeraldClientOptions> = {}) =>
    new HeraldClient({
      baseUrl: server.url,
      apiKey: 'hk_ingest_test',
      baseDelayMs: 100,
      // The waits are recorded, not waited: no test depends on the wall clock.
      sleep: async (ms) => void delays.push(ms),
      now: () => NOW,
      ...options,
    });
  const thrown = async (promise: Promise<unknown>): Promise<HeraldProblemError> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HeraldProblemError);
    return error as HeraldProblemError;
  };

  beforeAll(() => server.start());
  afterAll(() => server.stop());
  beforeEach(() => {
    server.reset();
    delays = [];
  });

  describe('idempotency keys', () => {
    it('sends one generated Idempotency-Key with an event, the same on every retry', async () => {
      server.answer(problem(503, 'unavailable'), { status: 502, body: 'Bad Gateway' }, accepted);
      const answer = await client().sendEvent({ type: 'order.shipped', to: { subscriberId: 'ada' } });
      expect(answer).toEqual({ id: 'evt-1', status: 'accepted', replayed: false });
      expect(server.received).toHaveLength(3);
      const keys = server.received.map((r) => r.headers['idempotency-key']);
      expect(keys[0]).toMatch(UUID);
      expect(new Set(keys)).toEqual(new Set([keys[0]]));
      expect(server.received.map((r) => [r.method, r.url, r.headers.authorization])).toEqual(
        Array(3).fill(['POST', '/v1/events', 'Bearer hk_ingest_test']),
      );
      expect(server.received.map((r) => r.body)).toEqual(
        Array(3).fill({ type: 'order.shipped', to: { subscriberId: 'ada' } }),
      );
    });

    it('a new key for each new event', async () => {
      await client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      await client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      const [first, second] = server.received.map((r) => r.headers['idempotency-key']);
      expect(first).not.toBe(second);
    });

    it('keeps a key the caller gives, and reports a replayed answer', async () => {
      server.answer(problem(429, 'rate-limited'), {
        ...accepted,
        headers: { ...accepted.headers, 'idempotent-replayed': 'true' },
      });
      const answer = await client().sendEvent(
        { type: 'a', to: { subscriberId: 'ada' } },
        { idempotencyKey: 'order-42' },
      );
      expect(answer.replayed).toBe(true);
      expect(server.received.map((r) => r.headers['idempotency-key'])).toEqual(['order-42', 'order-42']);
    });

    it('gives each event of a batch a key of its own, kept across retries, and keeps the ones given', async () => {
      server.answer(problem(500, 'internal'), {
        status: 207,
        body: {
          results: [
            { id: 'e1', status: 202 },
            { status: 400, error: { type: '/problems/validation', title: 'x' } },
          ],
        },
      });
      const results = await client().sendBatch([
        { type: 'a', to: { subscriberId: 'ada' } },
        { type: 'a', to: { subscriberId: 'bob' }, idempotencyKey: 'mine' },
      ]);
      expect(results).toEqual([
        { id: 'e1', status: 202 },
        { status: 400, error: { type: '/problems/validation', title: 'x' } },
      ]);
      const [first, retry] = server.received.map((r) => r.body.events.map((e: any) => e.idempotencyKey));
      expect(first[0]).toMatch(UUID);
      expect(first[1]).toBe('mine');
      expect(retry).toEqual(first);
      expect(server.received[0]!.body.events[0]).toEqual({
        type: 'a',
        to: { subscriberId: 'ada' },
        idempotencyKey: first[0],
      });
    });

    it('sends a CloudEvent without a key of its own (Herald keys it by id and source), retrying it all the same', async () => {
      server.answer(problem(503, 'unavailable'), accepted);
      const event = { specversion: '1.0' as const, id: 'A-1', source: '/shop', type: 'order.shipped', subject: 'ada' };
      expect(await client().sendCloudEvent(event)).toEqual({ id: 'evt-1', status: 'accepted', replayed: false });
      expect(server.received).toHaveLength(2);
      for (const received of server.received) {
        expect(received.headers['content-type']).toBe('application/cloudevents+json');
        expect(received.headers['idempotency-key']).toBeUndefined();
        expect(received.body).toEqual(event);
      }
    });

    it('adds keys only to sends, under a base URL with a path too', async () => {
      await client({ baseUrl: `${server.url}/herald/` }).sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      await client().putRule('a', { channels: [{ channel: 'inapp', template: { title: 't', body: 'b' } }] });
      expect(server.received.map((r) => [r.url, typeof r.headers['idempotency-key']])).toEqual([
        ['/herald/v1/events', 'string'],
        ['/v1/rules/a', 'undefined'],
      ]);
    });
  });

  describe('retries', () => {
    it('waits as Retry-After says, in seconds or as an HTTP date', async () => {
      server.answer(
        { ...problem(429, 'rate-limited'), headers: { 'retry-after': '7' } },
        { ...problem(503, 'unavailable'), headers: { 'retry-after': new Date(NOW + 3000).toUTCString() } },
        { ...problem(503, 'unavailable'), headers: { 'retry-after': '60' } },
        accepted,
      );
      await client({ maxDelayMs: 60_000 }).sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      expect(delays).toEqual([7000, 3000, 60_000]);
      expect(server.received).toHaveLength(4);
    });

    it('throws at once when Retry-After asks for longer than maxDelayMs, rather than be refused again', async () => {
      server.answer({ ...problem(429, 'rate-limited'), headers: { 'retry-after': '86400' } }, accepted);
      const error = await thrown(client({ maxDelayMs: 60_000 }).sendEvent({ type: 'a', to: { subscriberId: 'ada' } }));
      expect(error.status).toBe(429);
      expect(error.headers.get('retry-after')).toBe('86400');
      expect(server.received).toHaveLength(1);
      expect(delays).toEqual([]);
    });

    it('backs off exponentially with jitter when there is no Retry-After', async () => {
      server.answer(problem(503, 'a'), problem(503, 'b'), problem(503, 'c'), accepted);
      await client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      expect(delays).toHaveLength(3);
      delays.forEach((delay, retry) => {
        const step = 100 * 2 ** retry;
        expect(delay).toBeGreaterThanOrEqual(step / 2);
        expect(delay).toBeLessThanOrEqual(step);
      });
    });

    it('gives up after `retries` retries and throws the last answer as a problem', async () => {
      server.answer(
        ...Array(5).fill({
          ...problem(503, 'unavailable', { detail: 'Postgres is down' }),
          headers: { 'retry-after': '1' },
        }),
      );
      const error = await thrown(client({ retries: 2 }).getEvent('evt-1'));
      expect(server.received).toHaveLength(3);
      expect(delays).toEqual([1000, 1000]);
      expect(error).toMatchObject({
        status: 503,
        type: '/problems/unavailable',
        detail: 'Postgres is down',
        requestId: 'req-1',
      });
      expect(error.headers.get('retry-after')).toBe('1');
    });

    it('retries: 0 sends once', async () => {
      server.answer(problem(503, 'unavailable'));
      await thrown(client({ retries: 0 }).getEvent('evt-1'));
      expect(server.received).toHaveLength(1);
      expect(delays).toEqual([]);
    });

    it('retries a 409 only when the same key is still in flight', async () => {
      server.answer({ ...problem(409, 'idempotency-key-in-flight'), headers: { 'retry-after': '1' } }, accepted);
      await client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      expect(delays).toEqual([1000]);

      server.reset();
      server.answer(problem(409, 'event-not-cancellable'));
      expect((await thrown(client().cancelEvent('evt-1'))).type).toBe('/problems/event-not-cancellable');
      expect(server.received).toHaveLength(1);
    });

    it.each([
      [400, 'validation'],
      [401, 'unauthorized'],
      [404, 'not-found'],
      [422, 'idempotency-key-reused'],
    ])('does not retry %i, and throws it as a typed problem', async (status, type) => {
      server.answer(
        problem(status, type, { detail: 'see errors', errors: [{ path: 'to[0].email', message: 'expects an email' }] }),
      );
      const error = await thrown(client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } }));
      expect(server.received).toHaveLength(1);
      expect(delays).toEqual([]);
      expect(error).toMatchObject({
        name: 'HeraldProblemError',
        status,
        type: `/problems/${type}`,
        title: type,
        detail: 'see errors',
        errors: [{ path: 'to[0].email', message: 'expects an email' }],
        requestId: 'req-1',
        message: `${status} ${type}: see errors`,
      });
    });

    it('retries a request cut off mid-way when it is safe to repeat', async () => {
      server.answer('hang-up', accepted);
      await client().sendEvent({ type: 'a', to: { subscriberId: 'ada' } });
      expect(server.received).toHaveLength(2);
      expect(server.received[0]!.headers['idempotency-key']).toBe(server.received[1]!.headers['idempotency-key']);

      server.reset();
      server.answer('hang-up', { status: 200, body: { eventType: 'a' } });
      expect(await client().getRule('a')).toEqual({ eventType: 'a' });
      expect(server.received).toHaveLength(2);
    });

    it('does not repeat a POST without an idempotency key after a 5xx or a cut connection: it may have been done', async () => {
      server.answer(problem(500, 'internal'));
      await thrown(client().createWebhookEndpoint({ url: 'https://example.com/hook' }));
      server.answer('hang-up');
      // fetch's own TypeError (from undici's realm, so not `instanceof` the test's TypeError)
      await expect(client().createWebhookEndpoint({ url: 'https://example.com/hook' })).rejects.toMatchObject({
        name: 'TypeError',
        message: 'fetch failed',
      });
      expect(server.received).toHaveLength(2);
      expect(delays).toEqual([]);
    });

    it('retries any request that could not connect (nothing was sent), then throws the network error', async () => {
      const closed = new ScriptedServer();
      await closed.start();
      await closed.stop();
      const error = await client({ baseUrl: closed.url, retries: 2 })
        .createWebhookEndpoint({ url: 'https://example.com/hook' })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
      expect(delays).toHaveLength(2);
    });

    it('does not retry once the caller aborts', async () => {
      server.answer(problem(503, 'unavailable'), accepted);
      const controller = new AbortController();
      const aborting = new HeraldClient({
        baseUrl: server.url,
        sleep: async () => void controller.abort(),
      });
      const error = await aborting.api
        .GET('/v1/events/{id}', { params: { path: { id: 'evt-1' } }, signal: controller.signal })
        .catch((e: unknown) => e);
      expect((error as Error).name).toBe('AbortError');
      expect(server.received).toHaveLength(1);
    });

    // The real timer: a wait that ignored the abort would last an hour, far past jest's timeout.
    it("an abort ends a Retry-After wait at once, with the signal's reason", async () => {
      server.answer({ ...problem(429, 'rate-limited'), headers: { 'retry-after': '3600' } }, accepted);
      const real = new HeraldClient({ baseUrl: server.url, apiKey: 'hk_ingest_test', maxDelayMs: 3_600_000 });
      const error = await real.api
        .GET('/v1/events/{id}', { params: { path: { id: 'evt-1' } }, signal: AbortSignal.timeout(100) })
        .catch((e: unknown) => e);
      expect((error as Error).name).toBe('TimeoutError');
      expect(server.received).toHaveLength(1);
    });

    it('an abort while a request that is safe to repeat is in flight is not retried as a network error', async () => {
      server.answer('hold', accepted);
      const controller = new AbortController();
      const arrived = server.nextRequest();
      const pending = client()
        .api.GET('/v1/events/{id}', { params: { path: { id: 'evt-1' } }, signal: controller.signal })
        .catch((e: unknown) => e);
      await arrived;
      controller.abort();
      expect(((await pending) as Error).name).toBe('AbortError');
      expect(delays).toEqual([]);
      expect(server.received).toHaveLength(1);
    });
  });

  describe('errors', () => {
    it('an answer that is not problem+json is still a HeraldProblemError (about:blank)', async () => {
      server.answer({
        status: 404,
        headers: { 'content-type': 'text/html', 'x-request-id': 'req-9' },
        body: '<h1>nope</h1>',
      });
      const error = await thrown(client().getEvent('evt-1'));
      expect(error).toMatchObject({
        status: 404,
        type: 'about:blank',
        title: 'Not Found',
        detail: '<h1>nope</h1>',
        errors: [],
        requestId: 'req-9',
      });
    });
  });

  describe('typed access to every endpoint', () => {
    it('api.<METHOD>(path) sends the typed parameters, the key and the body', async () => {
      server.answer({ status: 200, body: { items: [] } });
      const { data } = await client({ apiKey: 'hk_admin_test' }).api.GET('/v1/subscribers', {
        params: { query: { limit: 10 } },
      });
      expect(data).toEqual({ items: [] });
      expect(server.received[0]).toMatchObject({
        method: 'GET',
        url: '/v1/subscribers?limit=10',
        headers: { authorization: 'Bearer hk_admin_test' },
      });
    });

    it('a request may bring its own Authorization (an inbox token)', async () => {
      await client().api.GET('/v1/inbox/unread-count', { headers: { authorization: 'Bearer inbox-token' } });
      expect(server.received[0]!.headers.authorization).toBe('Bearer inbox-token');
    });

    it('path parameters are encoded', async () => {
      server.answer({ status: 204 });
      await client().deleteRule('billing/invoice.paid');
      expect(server.received[0]).toMatchObject({ method: 'DELETE', url: '/v1/rules/billing%2Finvoice.paid' });
    });
  });
});
