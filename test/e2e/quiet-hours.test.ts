import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { promoteDelayed } from '../helpers/queues';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

// The clock stays real, and no test waits for it: each window begins a minute ago and ends an hour from
// now in the subscriber's time zone (windows take HH:MM:SS), so what is held stays held however slow the
// machine. A test ends the night itself: it lifts the quiet hours and makes the waiting job due now
// (promoteDelayed), and the worker, checking again, sends.
const WINDOW_LEFT_S = 3600;

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
  attempts?: unknown[];
  lastDeferral?: { at: string; status: string; reason: string; until: string | null };
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
  /** Waits until the event's delivery is deferred, with a deferral recorded after `since` (ISO) if given. */
  const waitForDeferral = (eventId: string, since = '') =>
    eventually(
      async () => {
        const d = await deliveryOf(eventId);
        return d?.status === 'deferred' && d.lastDeferral && d.lastDeferral.at > since ? d : undefined;
      },
      30_000,
      `the delivery of ${eventId} to be deferred`,
    );
  const untilOf = (d: DeliveryView) => new Date(d.lastDeferral!.until!).getTime();
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
    expect(deferred.lastError).toContain(`deferred until ${quiet.end.toISOString()}`);
    expect(deferred.lastDeferral?.status).toBe('deferred');
    expect(untilOf(deferred)).toBe(quiet.end.getTime());
    expect(deferred.attempts).toEqual([]);

    // Critical rules are not held: the reset arrives while the news still waits.
    const reset = await send('password.reset', 'quinn');
    await waitForDeliveries(tenant.ingest, reset, 'sent', 30_000);
    expect((await deliveryOf(news))?.status).toBe('deferred');
    expect((await inboxOf('quinn')).map((m) => m.body)).toEqual(['password.reset']);

    // Woken before the window's end, the job finds it is still night and goes back to wait.
    await promoteDelayed(herald.config, 'inapp', 1);
    const again = await waitForDeferral(news, deferred.lastDeferral!.at);
    expect(untilOf(again)).toBe(quiet.end.getTime());
    expect(again.attempts).toEqual([]);

    // The night ends: the news goes out, and still says it was held back, why, and until when.
    expect((await tenant.admin('PUT', '/v1/subscribers/quinn', { quietHours: null })).status).toBe(200);
    await promoteDelayed(herald.config, 'inapp', 1);
    const sent = await waitForDeliveries(tenant.ingest, news, 'sent', 30_000);
    expect(sent.deliveries[0].lastDeferral).toEqual({ ...again.lastDeferral, reason: deferred.lastError });
    expect(untilOf(sent.deliveries[0])).toBe(quiet.end.getTime());
    expect(sent.deliveries[0].attempts).toHaveLength(1);
    expect((await inboxOf('quinn')).map((m) => m.body).sort()).toEqual(['news.posted', 'password.reset']);
  });

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
    expect(deferred.lastError).toContain(`quiet hours ${quiet.window.start}–${quiet.window.end} (UTC)`);
    expect(untilOf(deferred)).toBe(quiet.end.getTime());
    await waitForDeliveries(tenant.ingest, owen, 'sent', 30_000);
    expect((await deliveryOf(tess))?.status).toBe('deferred');

    // The tenant's night ends.
    const cleared = await tenant.admin('PATCH', '/v1/settings', { quietHours: null });
    expect(cleared.body).not.toHaveProperty('quietHours');
    expect((await tenant.admin('GET', '/v1/settings')).body).not.toHaveProperty('quietHours');
    await promoteDelayed(herald.config, 'inapp', 1);
    await waitForDeliveries(tenant.ingest, tess, 'sent', 30_000);
    expect((await inboxOf('tess')).map((m) => m.body)).toEqual(['news.posted']);

    const removed = await tenant.admin('PUT', '/v1/subscribers/owen', { quietHours: null });
    expect(removed.body.quietHours).toBeUndefined();
  });

  it("checks quiet hours before the rate limit: a night's wait leaves the subscriber's window empty", async () => {
    const limited = {
      channels: [{ ...inapp().channels[0], rateLimit: { limit: 2, windowSeconds: 3600, policy: 'defer' } }],
    };
    expect((await tenant.admin('PUT', '/v1/rules/news.limited', limited)).status).toBe(200);
    const quiet = quietNow('UTC');
    expect((await tenant.admin('PUT', '/v1/subscribers/nia', { quietHours: quiet.window })).status).toBe(201);

    const events = [1, 2, 3].map((n) => ({ type: 'news.limited', to: { subscriberId: 'nia' }, data: { n } }));
    const batch = await tenant.ingest('POST', '/v1/events/batch', { events });
    expect(batch.status).toBe(207);
    const ids: string[] = batch.body.results.map((r: { id: string }) => r.id);
    const deliveries = async () => (await Promise.all(ids.map(deliveryOf))).filter((d) => d !== undefined);
    /** The deliveries once `sent` of them are sent and the others deferred by `reason`. */
    const settled = async (sent: number, reason: RegExp) => {
      let seen: string[] = [];
      return eventually(
        async () => {
          const now = await deliveries();
          seen = now.map((d) => `${d.status}${d.status === 'deferred' ? ` (${d.lastError})` : ''}`);
          const held = now.filter((d) => d.status === 'deferred' && reason.test(d.lastError ?? ''));
          return now.filter((d) => d.status === 'sent').length === sent && held.length === ids.length - sent
            ? now
            : undefined;
        },
        30_000,
        () => `${sent} sent and ${ids.length - sent} deferred by ${reason} (saw ${JSON.stringify(seen)})`,
      );
    };

    // All three wait for the night, none for the limit: the night used nothing of the window.
    await settled(0, /^quiet hours/);

    // The night ends: two fit the window of two, the third waits for the limit.
    expect((await tenant.admin('PUT', '/v1/subscribers/nia', { quietHours: null })).status).toBe(200);
    await promoteDelayed(herald.config, 'inapp', 3);
    const after = await settled(2, /^rate limit: 2 per 3600 s/);
    expect(after.map((d) => d.attempts?.length).sort()).toEqual([0, 1, 1]);

    // (the limit lifted, the third goes too)
    expect((await tenant.admin('PUT', '/v1/rules/news.limited', inapp())).status).toBe(200);
    await promoteDelayed(herald.config, 'inapp', 1);
    await settled(3, /^rate limit/);
    expect((await inboxOf('nia')).map((m) => m.body).sort()).toEqual(['1', '2', '3']);
  });

  it('rejects malformed windows with field-level reasons', async () => {
    const bad = await tenant.admin('PUT', '/v1/subscribers/vic', { quietHours: { start: '25:00', end: '07:00' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'quietHours.start' })]);
    const empty = await tenant.admin('PATCH', '/v1/settings', { quietHours: { start: '07:00', end: '07:00:00' } });
    expect(empty.status).toBe(400);
    expect(empty.body.errors).toEqual([expect.objectContaining({ path: 'quietHours.end' })]);
  });
});
