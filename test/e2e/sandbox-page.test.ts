import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { createTenant, waitForDeliveries } from '../helpers/tenant';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');

describe('the /sandbox page, in headless Chromium', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let browser: Browser;

  beforeAll(async () => {
    isolated = await isolatedEnv('sandbox_page');
    herald = await startHerald({ env: isolated.env });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await herald.close();
    await isolated.drop();
  });

  it('lists what Herald sent, newest first, with the rendered email', async () => {
    const tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/welcome', {
      channels: [
        {
          channel: 'email',
          template: { subject: 'Welcome, {{ subscriber.subscriberId }}', html: '<h1>Hello {{ data.name }}</h1>' },
        },
        { channel: 'sms', template: { body: 'Welcome {{ data.name }}' } },
      ],
    });
    const sent = await tenant.ingest('POST', '/v1/events', {
      type: 'welcome',
      to: { subscriberId: 'nia', email: 'nia@example.com', phone: '+15005550006' },
      data: { name: 'Nia' },
    });
    await waitForDeliveries(tenant.ingest, sent.body.id, 'sent', 30_000);

    const page = await browser.newPage();
    await page.goto(`${herald.url}/sandbox`);
    expect(await page.title()).toBe('Herald sandbox');
    const email = page.locator('article[data-channel="email"]').first();
    await expect(email.locator('.to').textContent()).resolves.toBe('nia@example.com');
    await expect(email.locator('.summary').textContent()).resolves.toBe('Welcome, nia');
    const rendered = page.frameLocator('article[data-channel="email"] iframe').first();
    await expect(rendered.locator('h1').textContent()).resolves.toBe('Hello Nia');
    await expect(page.locator('article[data-channel="sms"] .summary').first().textContent()).resolves.toBe(
      'Welcome Nia',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'sandbox-page.png'), fullPage: true });
  });
});
