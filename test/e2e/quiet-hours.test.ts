import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// The clock stays real: each test computes a quiet window around "now" in the subscriber's time zone
// that ends WINDOW_LEFT_S seconds later (windows take HH:MM:SS), so a deferral is seen and then ends.
const WINDOW_LEFT_S = 20;

/** HH:MM:SS on the wall clock of `timeZone` at `at`. */
function wallClock(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(at);
}

/** A window that began a minute ago and ends `left` seconds from now (in whole seconds), in `timeZone`. */
function quietNow(timeZone: string, left = WINDOW_LEFT_S) {
  const now = Date.now();
  const end = new Date(Math.floor(now / 1000) * 1000 + left * 1000);
  return { window: { start: wallClock(new Date(now - 60_000), timeZone), end: wallClock(end, timeZone) }, end };
}

const inapp = (critical = false) => ({
  critical,
  channels: [{ channel: 'inapp', template: { title: 'News', body: '{{ data.n }}' } }],
});

interface DeliveryView {
  status: string;
  lastError?: string;
}

describe('quiet hours, through HTTP with the workers running', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;

  beforeAll(async () => {
    isolated = await isolatedEnv('quiet-hours');
    herald = await startHerald({ env: isolated.env });
    tenant = await createTenant(herald.url);
    expect((await tenant.admin('PUT', '/v1/rules/news.posted', inapp())).status).toBe(200);
    expect((await tenant.admin('PUT', '/v1/rules/password.reset', inapp(true))).status).toBe(200);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  const send = async (type: string, subscriberId: string) => {
    const sent = await tenant.ingest('POST', '/v1/events', { type, to: { subscriberId }, data: { n: type } });
    expect(sent.status).toBe(202);
    return sent.body.id as string;
  };
  const deliveryOf = async (eventId: string): Promise<DeliveryView | undefined> =>
    (await tenant.ingest('GET', `/v1/events/${eventId}`)).body.deliveries?.[0];
  const waitForDeferral = (eventId: string) =>
    eventually(
      async () => {
        const d = await deliveryOf(eventId);
        return d?.status === 'deferred' ? d : undefined;
      },
      WINDOW_LEFT_S * 1000,
      `the delivery of ${eventId} to be deferred`,
    );
  const inboxOf = async (subscriberId: string) => {
    const token = (await tenant.admin('POST', `/v1/subscribers/${subscriberId}/inbox-token`)).body.token;
    return (await client(herald.url, token)('GET', '/v1/inbox')).body.items as {
      title: string;
      body: string;
      createdAt: string;
    }[];
  };

  it("defers a non-critical delivery inside the subscriber's quiet hours to the window's end; critical ones go now", async () => {
    const timeZone = 'Asia/Kolkata';
    const quiet = quietNow(timeZone);
    const put = await tenant.admin('PUT', '/v1/subscribers/quinn', { timezone: timeZone, quietHours: quiet.window });
    expect(put.status).toBe(201);
    expect(put.body.quietHours).toEqual(quiet.window);

    const news = await send('news.posted', 'quinn');
    const deferred = await waitForDeferral(news);
    expect(deferred.lastError).toContain(`quiet hours ${quiet.window.start}–${quiet.window.end} (${timeZone})`);
    expect(deferred.lastError).toContain(quiet.end.toISOString());

    // Critical rules are not held: the reset arrives while the news still waits.
    const reset = await send('password.reset', 'quinn');
    await waitForDeliveries(tenant.ingest, reset, 'sent', 30_000);
    expect((await deliveryOf(news))?.status).toBe('deferred');
    expect((await inboxOf('quinn')).map((m) => m.body)).toEqual(['password.reset']);

    const sent = await waitForDeliveries(tenant.ingest, news, 'sent', 60_000);
    // Once sent, the delivery still says it was held back, why, and until when (the console's timeline).
    expect(sent.deliveries[0].lastDeferral).toEqual({
      at: expect.any(String),
      status: 'deferred',
      reason: deferred.lastError,
      until: expect.stringMatching(/^\d{4}-/),
    });
    expect(new Date(sent.deliveries[0].lastDeferral.until).getTime()).toBe(quiet.end.getTime());
    const inbox = await inboxOf('quinn');
    const delivered = inbox.find((m) => m.body === 'news.posted')!;
    expect(new Date(delivered.createdAt).getTime()).toBeGreaterThanOrEqual(quiet.end.getTime());
  }, 120_000);

  it("applies the tenant's default to subscribers without their own window, and a subscriber's own window wins", async () => {
    const quiet = quietNow('UTC');
    const patched = await tenant.admin('PATCH', '/v1/settings', { quietHours: quiet.window });
    expect(patched.status).toBe(200);
    expect((await tenant.admin('GET', '/v1/settings')).body.quietHours).toEqual(quiet.window);
    // Owen's own window is hours away, so the tenant's does not apply to him.
    const later = quietNow('UTC', 3 * 3600);
    const own = { start: wallClock(new Date(Date.now() + 2 * 3600_000), 'UTC'), end: later.window.end };
    expect((await tenant.admin('PUT', '/v1/subscribers/owen', { quietHours: own })).status).toBe(201);

    const tess = await send('news.posted', 'tess');
    const owen = await send('news.posted', 'owen');
    const deferred = await waitForDeferral(tess);
    expect(deferred.lastError).toContain('(UTC)');
    await waitForDeliveries(tenant.ingest, owen, 'sent', 30_000);
    await waitForDeliveries(tenant.ingest, tess, 'sent', 60_000);
    const [message] = await inboxOf('tess');
    expect(new Date(message.createdAt).getTime()).toBeGreaterThanOrEqual(quiet.end.getTime());

    const cleared = await tenant.admin('PATCH', '/v1/settings', { quietHours: null });
    expect(cleared.body).not.toHaveProperty('quietHours');
    expect((await tenant.admin('GET', '/v1/settings')).body).not.toHaveProperty('quietHours');
    const removed = await tenant.admin('PUT', '/v1/subscribers/owen', { quietHours: null });
    expect(removed.body.quietHours).toBeUndefined();
  }, 120_000);

  it('rejects malformed windows with field-level reasons', async () => {
    const bad = await tenant.admin('PUT', '/v1/subscribers/vic', { quietHours: { start: '25:00', end: '07:00' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'quietHours.start' })]);
    const empty = await tenant.admin('PATCH', '/v1/settings', { quietHours: { start: '07:00', end: '07:00:00' } });
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([expect.objectContaining({ path: 'quietHours.end' })]);
  });
});
