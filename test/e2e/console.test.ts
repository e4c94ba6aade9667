import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { HeraldClient } from '@herald/client';
import { SandboxHub } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');
const CONSOLE_SOURCES = join(ROOT, 'apps', 'console');
const CONSOLE_BUILD = join(ROOT, 'dist', 'console', 'index.html');
const ARTIFACTS = join(ROOT, 'test-artifacts', 'console');

/** The newest modification time of any file under `dir`. */
function newest(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? newest(path) : statSync(path).mtimeMs;
    }),
  );
}

/**
 * Builds the console when dist/console is missing or older than its sources, with Vite's build() API.
 * In a child process: Vite is ESM-only, and Jest's CommonJS runtime cannot load it.
 */
async function buildConsoleIfStale(): Promise<void> {
  if (existsSync(CONSOLE_BUILD) && statSync(CONSOLE_BUILD).mtimeMs >= newest(CONSOLE_SOURCES)) return;
  const config = join(CONSOLE_SOURCES, 'vite.config.mts');
  const script = `import { build } from 'vite'; await build({ configFile: ${JSON.stringify(config)}, logLevel: 'warn' });`;
  await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT });
}

const rule = {
  channels: [
    {
      channel: 'email',
      template: { subject: 'Order {{ data.orderId }} shipped', html: '<p>Hi {{ subscriber.subscriberId }}</p>' },
    },
    { channel: 'inapp', template: { title: 'Order {{ data.orderId }} shipped', body: 'It is on its way' } },
  ],
};
const newsRule = { channels: [{ channel: 'inapp', template: { title: 'News', body: '{{ data.headline }}' } }] };
// A W3C trace id: a CloudEvent's `traceparent` makes it its event's correlation id.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('the console, in headless Chromium', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let browser: Browser;
  let page: Page;
  let tenant: TestTenant;

  beforeAll(async () => {
    await buildConsoleIfStale();
    isolated = await isolatedEnv('console');
    herald = await startHerald({
      env: { ...isolated.env, RETRY_MAX_ATTEMPTS: '3', RETRY_BASE_DELAY_MS: '20', RETRY_MAX_DELAY_MS: '200' },
    });
    tenant = await createTenant(herald.url);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // UTC, so the times typed into the activity's range are the ones the test computes.
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await herald?.close();
    await isolated?.drop();
  });

  const screenshot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const heading = (name: string) => page.getByRole('heading', { level: 1, name }).waitFor();
  const nav = (name: string) => page.getByRole('navigation').getByRole('link', { name, exact: true }).click();
  const eventRows = () => page.getByRole('table', { name: 'Events, newest first' }).locator('tbody tr');
  /** Waits until Activity lists exactly these events, in this order. */
  const listed = (ids: string[], what: string) =>
    eventually(
      async () => {
        const rows = await eventRows().all();
        const shown = await Promise.all(rows.map((row) => row.getAttribute('data-event-id', { timeout: 1000 })));
        return shown.join() === ids.join() ? shown : undefined;
      },
      15_000,
      `Activity to list ${what}`,
    );
  /** Waits until the overview's table counts `count` deliveries of `channel` in `status`. */
  const counted = (channel: string, status: string, count: number) =>
    page
      .locator(`table.numbers td[data-channel="${channel}"][data-status="${status}"]`)
      .filter({ hasText: new RegExp(`^${count}$`) })
      .waitFor();
  /** A datetime-local input's value (the page runs in UTC) `minutes` from now. */
  const localTime = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString().slice(0, 16);

  it('is served at /console, its client routes load the page, and it stays out of the API document', async () => {
    const anonymous = client(herald.url);
    const html = await anonymous('GET', '/console');
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(html.body).toContain('<title>Herald console</title>');
    // Offline: every script and stylesheet comes from /console itself.
    expect(html.body).not.toMatch(/https?:\/\//);
    expect((await anonymous('GET', '/console/')).body).toBe(html.body);
    expect((await anonymous('GET', '/console/events/abc')).body).toBe(html.body);
    const missing = await anonymous('GET', '/console/assets/missing.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const escape = await anonymous('GET', '/console/%2e%2e%2f%2e%2e%2fpackage.json');
    expect(escape.body).toBe(html.body);

    const document = (await anonymous('GET', '/docs/openapi.json')).body;
    expect(Object.keys(document.paths).filter((p) => p.startsWith('/console'))).toEqual([]);
    expect(document.paths['/v1/stats'].get['x-herald-access']).toBe('admin');
    expect(document.paths['/v1/rules/{eventType}/preview'].post['x-herald-access']).toBe('admin');
  });

  it('walks the console: overview, activity and its filters, an event timeline and metadata, a dead-letter replay, a lifted suppression, a rule edit with its preview', async () => {
    expect((await tenant.admin('PUT', '/v1/rules/order.shipped', rule)).status).toBe(200);
    expect((await tenant.admin('PUT', '/v1/rules/news.posted', newsRule)).status).toBe(200);
    expect((await tenant.admin('PUT', '/v1/topics/readers/subscribers', { add: ['bob'] })).status).toBe(200);
    const herald_ = new HeraldClient({ baseUrl: herald.url, apiKey: tenant.keys.ingest });
    const shipped = await herald_.sendEvent({
      type: 'order.shipped',
      to: { subscriberId: 'alice', email: 'alice@example.com' },
      data: { orderId: '42' },
    });
    await waitForDeliveries(tenant.ingest, shipped.id, 'sent');
    // A CloudEvent (its traceparent sets the correlation id), and a later event of the same checkout.
    const cloud = await herald_.sendCloudEvent({
      specversion: '1.0',
      id: 'order-1001',
      source: '/shop/orders',
      type: 'order.shipped',
      subject: 'alice',
      time: '2026-12-01T09:30:00Z',
      traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
      data: { orderId: '1001' },
    });
    await waitForDeliveries(tenant.ingest, cloud.id, 'sent');
    const correlated = await tenant.ingest(
      'POST',
      '/v1/events',
      { type: 'checkout.completed', to: { subscriberId: 'alice' } },
      { 'x-correlation-id': TRACE_ID },
    );
    const correlatedId: string = correlated.body.id;
    // A broadcast: bob is reached through the topic, not named in `to`.
    const news = await herald_.sendEvent({ type: 'news.posted', to: { topic: 'readers' }, data: { headline: 'Hi' } });
    await waitForDeliveries(tenant.ingest, news.id, 'sent');
    // The SMTP sandbox refuses the next three sends: bob's email spends its three attempts and dies.
    (await herald.app.get(SandboxHub).smtp()).failNext(3, 421, 'mailbox busy, try later');
    const doomed = await herald_.sendEvent({
      type: 'order.shipped',
      to: { subscriberId: 'bob', email: 'bob@example.com' },
      data: { orderId: '43' },
    });
    const dead = await eventually(async () => {
      const event = await tenant.ingest('GET', `/v1/events/${doomed.id}`);
      return event.body.deliveries?.find(
        (d: { channel: string; status: string }) => d.channel === 'email' && d.status === 'dead',
      );
    }, 30_000);
    const suppression = await tenant.admin('POST', '/v1/suppressions', {
      channel: 'email',
      address: 'carol@example.com',
      reason: 'manual',
    });
    expect(suppression.status).toBe(201);
    const everything = [doomed.id, news.id, correlatedId, cloud.id, shipped.id];

    // Sign in with the admin key (an ingest key is refused with the API's problem).
    await page.goto(`${herald.url}/console`);
    await page.getByLabel('Admin key').fill(tenant.keys.ingest);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Forbidden' }).waitFor();
    await page.getByLabel('Admin key').fill(tenant.keys.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();

    // Overview: the last hour's deliveries per channel × status.
    await heading('Overview');
    await counted('inapp', 'sent', 4);
    await counted('email', 'dead', 1);
    await page.getByTestId('outbox-pending').filter({ hasText: '0' }).waitFor();
    await screenshot('overview');

    // Activity: every event, newest first, with its deliveries by status and its correlation id.
    await nav('Activity');
    await heading('Activity');
    await listed(everything, 'every event');
    const row = page.locator(`tr[data-event-id="${shipped.id}"]`);
    await expect(row.textContent()).resolves.toContain('order.shipped');
    const cloudRow = page.locator(`tr[data-event-id="${cloud.id}"]`);
    await expect(
      cloudRow.getByRole('link', { name: `Events with correlation id ${TRACE_ID}` }).textContent(),
    ).resolves.toBe(TRACE_ID);
    await screenshot('activity');

    // Filters, each answered by GET /v1/events: subscriber (a topic broadcast counts), status, time range.
    await page.getByLabel('Subscriber').fill('bob');
    await page.getByRole('button', { name: 'Apply' }).click();
    await listed([doomed.id, news.id], "bob's events");
    await page.getByRole('link', { name: 'Clear' }).click();
    await listed(everything, 'every event again');
    await page.getByLabel('Status').selectOption('unrouted');
    await page.getByRole('button', { name: 'Apply' }).click();
    await listed([correlatedId], 'the unrouted event');
    await page.getByRole('link', { name: 'Clear' }).click();
    await page.getByLabel('Received').selectOption('custom');
    await page.getByLabel('From').fill(localTime(-60));
    await page.getByLabel('To').fill(localTime(60));
    await page.getByRole('button', { name: 'Apply' }).click();
    await listed(everything, 'the events of the last hour');
    expect(new URL(page.url()).hash).toMatch(/since=\d{4}-.*&until=\d{4}-/);
    await page.getByLabel('To').fill(localTime(-30));
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No events match these filters.').waitFor();
    await page.getByLabel('Received').selectOption('15m');
    await page.getByRole('button', { name: 'Apply' }).click();
    await listed(everything, 'the events of the last 15 minutes');
    await page.getByRole('link', { name: 'Clear' }).click();

    // The event's timeline: created, the attempt, sent, and the content as the rule renders it.
    await row.getByRole('link', { name: 'order.shipped' }).click();
    await heading('Event');
    const email = page.locator('article.delivery', { has: page.getByRole('heading', { name: 'email to alice' }) });
    const timeline = email.getByRole('list', { name: /Timeline of the email delivery/ });
    await timeline.getByText('Attempt 1: ok').waitFor();
    const steps = await timeline.locator('li .what').allTextContents();
    expect(steps[0]).toBe('Created and queued');
    expect(steps).toEqual(expect.arrayContaining(['Attempt 1: ok', 'Sent']));
    expect(steps.at(-1)).toBe('Now sent');
    await expect(timeline.textContent()).resolves.toContain('smtp');
    await expect(email.locator('.subject').textContent()).resolves.toBe('Order 42 shipped');
    await expect(email.frameLocator('iframe').locator('p').textContent()).resolves.toBe('Hi alice');
    const metadata = page.getByTestId('event-metadata');
    // The key that sent it, by the prefix GET /v1/keys shows (`hk_ingest_` and 4 more characters).
    const prefix = tenant.keys.ingest.slice(0, 'hk_ingest_'.length + 4);
    await expect(metadata.textContent()).resolves.toContain(`Sent byingest key ${prefix}…`);
    await screenshot('event');

    // The CloudEvent's metadata: when it happened, its source and id, and its correlation id, which
    // leads (by keyboard) to every event of the checkout.
    await page.goto(`${herald.url}/console#/events/${cloud.id}`);
    await heading('Event');
    await metadata.locator(`time[datetime="2026-12-01T09:30:00.000Z"]`).waitFor();
    const facts = await metadata.textContent();
    expect(facts).toContain('CloudEvent source/shop/orders');
    expect(facts).toContain('CloudEvent idorder-1001');
    expect(facts).toContain('Schema versionnone');
    await page.getByRole('heading', { name: 'email to alice' }).waitFor();
    await screenshot('event-metadata');
    await metadata.getByRole('link', { name: `Events with correlation id ${TRACE_ID}` }).focus();
    await page.keyboard.press('Enter');
    await heading('Activity');
    await listed([correlatedId, cloud.id], 'the events with the correlation id');
    await expect(page.getByRole('textbox', { name: 'Correlation id' }).inputValue()).resolves.toBe(TRACE_ID);
    await screenshot('activity-correlation');

    // Dead letters: bob's email, with its last error; replayed after a confirmation.
    await nav('Dead letters');
    await heading('Dead letters');
    const letter = page.locator(`tr[data-delivery-id="${dead.id}"]`);
    await expect(letter.textContent()).resolves.toContain('mailbox busy');
    await screenshot('dead-letters');
    await letter.getByRole('button', { name: 'Replay the email delivery of order.shipped' }).click();
    const confirm = page.getByRole('dialog', { name: 'Replay this dead letter?' });
    await confirm.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: 'Replayed the email delivery of order.shipped' }).waitFor();
    await letter.waitFor({ state: 'detached' });
    await eventually(async () => {
      const event = await tenant.ingest('GET', `/v1/events/${doomed.id}`);
      return event.body.deliveries.find((d: { id: string }) => d.id === dead.id).status === 'sent' || undefined;
    }, 30_000);

    // Suppressions: found by address, lifted after a confirmation.
    await nav('Suppressions');
    await heading('Suppressions');
    await page.getByLabel('Channel').selectOption('email');
    await page.getByLabel('Address', { exact: true }).fill('carol@EXAMPLE.com');
    await page.getByRole('button', { name: 'Search' }).click();
    const suppressed = page.locator(`tr[data-suppression-id="${suppression.body.id}"]`);
    await suppressed.waitFor();
    await screenshot('suppressions');
    await suppressed.getByRole('button', { name: 'Lift the suppression of carol@example.com' }).click();
    await page
      .getByRole('dialog', { name: 'Send to carol@example.com again?' })
      .getByRole('button', { name: 'Lift suppression' })
      .click();
    await page.getByRole('status').filter({ hasText: 'Lifted' }).waitFor();
    await suppressed.waitFor({ state: 'detached' });
    expect((await tenant.admin('GET', '/v1/suppressions?channel=email&address=carol@example.com')).body.items).toEqual(
      [],
    );

    // Rules: the preview follows the edit, rendered by the API; saving stores it.
    await nav('Rules');
    await heading('Rules');
    await screenshot('rules');
    await page.getByRole('link', { name: 'order.shipped' }).click();
    await heading('Rule order.shipped');
    const preview = page.getByRole('article', { name: 'email preview' });
    await preview.locator('.subject', { hasText: 'Order 42 shipped' }).waitFor();
    const editor = page.getByLabel(/^Rule \(JSON/);
    const text = await editor.inputValue();
    await editor.fill(text.replace('Order {{ data.orderId }} shipped', 'Your order {{ data.orderId }} is on its way'));
    await preview.locator('.subject', { hasText: 'Your order 42 is on its way' }).waitFor();
    await page.getByLabel(/^Sample data/).fill('{ "orderId": "99" }');
    await preview.locator('.subject', { hasText: 'Your order 99 is on its way' }).waitFor();
    await editor.fill(text.replace('{{ data.orderId }} shipped', '{{ data.orderId shipped'));
    await page.locator('.preview [role="alert"]').filter({ hasText: 'channels[0].template.subject' }).waitFor();
    await editor.fill(text.replace('Order {{ data.orderId }} shipped', 'Your order {{ data.orderId }} is on its way'));
    await preview.locator('.subject', { hasText: 'Your order 99 is on its way' }).waitFor();
    await screenshot('rule-editor');
    await page.getByRole('button', { name: 'Save rule' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const saved = await tenant.admin('GET', '/v1/rules/order.shipped');
    expect(saved.body.channels[0].template.subject).toBe('Your order {{ data.orderId }} is on its way');

    // Subscribers: the list, alice's profile with her inbox, and her events.
    await nav('Subscribers');
    await heading('Subscribers');
    await page.getByRole('link', { name: 'alice' }).waitFor();
    await screenshot('subscribers');
    await page.getByLabel('Subscriber id').fill('alice');
    await page.getByRole('button', { name: 'Open' }).click();
    await heading('Subscriber alice');
    await page.getByText('alice@example.com').waitFor();
    await page.locator('ul.inbox').getByText('Order 42 shipped').waitFor();
    await screenshot('subscriber');
    await page.getByRole('link', { name: 'Events for alice' }).click();
    await heading('Activity');
    await listed([correlatedId, cloud.id, shipped.id], "alice's events");

    // Back to the overview, now with the replayed email counted as sent.
    await nav('Overview');
    await heading('Overview');
    await counted('email', 'sent', 3);
    await screenshot('overview-after');
  });

  it('signs out on request, and when the API refuses the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin key').waitFor();
    await page.getByLabel('Admin key').fill(tenant.keys.admin);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await nav('Overview');
    await heading('Overview');
    const keys = await tenant.admin('GET', '/v1/keys');
    const adminKeyId = keys.body.items.find((k: { scope: string }) => k.scope === 'admin').id;
    expect((await tenant.admin('DELETE', `/v1/keys/${adminKeyId}`)).status).toBe(204);
    await page.getByRole('navigation').getByRole('link', { name: 'Rules', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Herald refused the key' }).waitFor();
  });
});
