import { signWebhook } from '@herald/channels';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { ensureBuilt, killStarted, processEnv, startProcess, type RunningProcess } from '../helpers/processes';
import { createTenant, inappRule, type TestTenant } from '../helpers/tenant';

const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';

/**
 * Ingest is shared by every tenant: nothing one tenant sends (a schema's pattern, text Postgres cannot
 * store, a burst of retries) may stall or fail another tenant's events.
 */
describe('ingest isolation between tenants', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let a: TestTenant;
  let b: TestTenant;
  const event = (subscriberId: string, data: Record<string, unknown> = {}) => ({
    type: 'order.shipped',
    to: { subscriberId },
    data,
  });

  beforeAll(async () => {
    isolated = await isolatedEnv('ingest-isolation');
    herald = await startHerald({ env: isolated.env, roles: [] });
    [a, b] = await Promise.all([createTenant(herald.url), createTenant(herald.url)]);
    await a.admin('PUT', '/v1/rules/order.shipped', inappRule);
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
  });

  it.each([
    ['a NUL in data', event('bob', { note: `a${NUL}b` }), 'data.note'],
    ['a lone surrogate in data', event('bob', { nested: [{ text: LONE_SURROGATE }] }), 'data.nested[0].text'],
    ['a NUL in a data key', event('bob', { [`k${NUL}`]: 1 }), `data.k${NUL}`],
    ['a lone surrogate in the subscriber id', event(`bob${LONE_SURROGATE}`), 'to.subscriberId'],
  ])('%s is a 400 naming the field, not a 500', async (_, body, path) => {
    const answer = await b.ingest('POST', '/v1/events', body);
    expect(answer.status).toBe(400);
    expect(answer.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(answer.body.errors).toEqual([{ path, message: expect.stringMatching(/^must not contain NUL/) }]);
  });

  it("a batch answers the bad event alone (207), and other tenants' concurrent events all go in", async () => {
    const bad = Array.from({ length: 50 }, (_, i) =>
      b.ingest('POST', '/v1/events', event(`b${i}`, { note: i % 2 ? NUL : LONE_SURROGATE })),
    );
    const good = Array.from({ length: 200 }, (_, i) => a.ingest('POST', '/v1/events', event(`a${i}`, { n: i })));
    const batch = b.ingest('POST', '/v1/events/batch', {
      events: [event('c1'), event('c2', { note: NUL }), event('c3')],
    });
    const [badAnswers, goodAnswers, batchAnswer] = await Promise.all([Promise.all(bad), Promise.all(good), batch]);
    expect(new Set(badAnswers.map((r) => r.status))).toEqual(new Set([400]));
    expect(goodAnswers.filter((r) => r.status !== 202)).toEqual([]);
    expect(batchAnswer.status).toBe(207);
    expect(batchAnswer.body.results.map((r: { status: number }) => r.status)).toEqual([202, 400, 202]);
    expect(batchAnswer.body.results[1].error.errors).toEqual([
      { path: 'events[1].data.note', message: expect.stringMatching(/^must not contain NUL/) },
    ]);
  });

  it('CloudEvents (one and a batch) and inbound hooks refuse such text per event, naming it', async () => {
    const ce = (id: string, data: object) => ({
      specversion: '1.0',
      id,
      source: '/shop',
      type: 'order.shipped',
      subject: 'carol',
      data,
    });
    const post = (contentType: string, body: unknown) =>
      fetch(`${herald.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${a.keys.ingest}` },
        body: JSON.stringify(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const one = await post('application/cloudevents+json', ce('ce-1', { note: NUL }));
    expect(one.status).toBe(400);
    // CloudEvents errors name the attribute as sent (libs/core cloud-events.ts).
    expect(one.body.errors).toEqual([{ path: 'data', message: expect.stringMatching(/^must not contain NUL/) }]);
    const badId = await post('application/cloudevents+json', ce(`ce${LONE_SURROGATE}`, {}));
    expect(badId.status).toBe(400);
    expect(badId.body.errors.map((e: { path: string }) => e.path)).toEqual(['id']);
    const batch = await post('application/cloudevents-batch+json', [ce('ce-2', {}), ce('ce-3', { x: NUL })]);
    expect(batch.status).toBe(207);
    expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([202, 400]);

    const source = await a.admin('POST', '/v1/sources', {
      name: 'shop',
      eventType: 'order.shipped',
      mapping: { subscriberId: '/user', data: '/order' },
    });
    const payload = JSON.stringify({ user: 'dave', order: { note: NUL }, unmapped: NUL });
    const headers = signWebhook({
      id: 'msg_1',
      timestamp: Math.floor(Date.now() / 1000),
      payload,
      secret: source.body.secret,
    });
    const hook = await client(herald.url)('POST', `/v1/hooks/${source.body.id}`, payload, { ...headers });
    expect(hook.status).toBe(400);
    expect(hook.body.errors.map((e: { path: string }) => e.path)).toEqual(['/order']);
  });

  it('every other route refuses such text in its body, query or path with a 400 naming it', async () => {
    const subscriber = await a.admin('PUT', '/v1/subscribers/erin', { email: 'erin@example.com', data: { bio: NUL } });
    expect(subscriber.status).toBe(400);
    expect(subscriber.body.errors).toEqual([{ path: 'data.bio', message: expect.stringMatching(/^must not contain/) }]);
    const schema = await a.admin('PUT', '/v1/event-types/x/schemas/1', { type: 'object', title: LONE_SURROGATE });
    expect(schema.status).toBe(400);
    expect(schema.body.errors.map((e: { path: string }) => e.path)).toEqual(['title']);
    const byPath = await a.admin('GET', '/v1/subscribers/erin%00');
    expect(byPath.status).toBe(400);
    expect(byPath.body.errors.map((e: { path: string }) => e.path)).toEqual(['subscriberId (path)']);
    const byQuery = await a.admin('GET', '/v1/events?subscriberId=x%00');
    expect(byQuery.status).toBe(400);
    expect(byQuery.body.errors.map((e: { path: string }) => e.path)).toEqual(['query.subscriberId']);
  });

  it('concurrent retries of a stored key are all replays of its event, never 409', async () => {
    const headers = { 'idempotency-key': 'stored-once' };
    const first = await a.ingest('POST', '/v1/events', event('frank'), headers);
    expect(first.status).toBe(202);
    const retries = await Promise.all(
      Array.from({ length: 20 }, () => a.ingest('POST', '/v1/events', event('frank'), headers)),
    );
    expect(retries.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(retries.map((r) => r.body.id))).toEqual(new Set([first.body.id]));
    expect(retries.every((r) => r.headers.get('idempotent-replayed') === 'true')).toBe(true);
  });
});

/**
 * Defect 1 of issue 17, against the api as a process of its own (as deployed): were a tenant's pattern run
 * by a backtracking engine, the hostile event would block the api's event loop for ever, and the
 * liveness probe below would get no answer, failing this test instead of hanging the test process.
 */
describe("a tenant's schema pattern, with the api in its own process", () => {
  let isolated: IsolatedEnv;
  let api: RunningProcess;
  let base: string;
  let a: TestTenant;
  let b: TestTenant;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('schema-pattern');
    api = startProcess('api', [], processEnv(isolated.env));
    const listening = await api.waitForLog((l) => String(l.msg).startsWith('api listening'), 30_000);
    base = `http://127.0.0.1:${(listening as { port: number }).port}`;
    [a, b] = await Promise.all([createTenant(base), createTenant(base)]);
    await a.admin('PUT', '/v1/rules/order.shipped', inappRule);
  }, 120_000);
  afterAll(async () => {
    await killStarted();
    await isolated?.drop();
  });

  it('runs in linear time: hostile data is refused at once, and the api stays live for everyone', async () => {
    const published = await b.admin('PUT', '/v1/event-types/code.checked/schemas/1', {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^(\\w|\\d)+$' } },
    });
    expect(published.status).toBe(201);
    // 28 digits and a "!" took 2.6 s in JavaScript's backtracking engine, doubling with each digit: 5,000
    // would never finish.
    const hostile = b.ingest('POST', '/v1/events', {
      type: 'code.checked',
      to: { subscriberId: 'x' },
      data: { code: `${'1'.repeat(5000)}!` },
    });
    // Once the hostile event is in (a second is ample to read it), the api must still answer others. The 20 s
    // deadline only turns a blocked api into a failure with a message: the answer takes milliseconds.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const deadline = { signal: AbortSignal.timeout(20_000) };
    const [live, other] = await Promise.all([
      fetch(`${base}/health/live`, deadline).then(
        (r) => r.status,
        (err: Error) => `no answer: ${err.name}`,
      ),
      fetch(`${base}/v1/events`, {
        ...deadline,
        method: 'POST',
        headers: { authorization: `Bearer ${a.keys.ingest}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'order.shipped', to: { subscriberId: 'alice' } }),
      }).then(
        (r) => r.status,
        (err: Error) => `no answer: ${err.name}`,
      ),
    ]);
    expect({ live, other }).toEqual({ live: 200, other: 202 });
    const refused = await hostile;
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ path: '/data/code', message: 'must match pattern "^(\\w|\\d)+$"' }]);
    // A pattern the linear-time engine cannot run is refused when published, naming it.
    const lookahead = await b.admin('PUT', '/v1/event-types/code.checked/schemas/2', {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^(?=\\d)\\w+$' } },
    });
    expect(lookahead.status).toBe(422);
    expect(lookahead.body.errors.map((e: { path: string }) => e.path)).toEqual(['/properties/code/pattern']);
  });
});
