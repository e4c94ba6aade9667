import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { createTenant, type TestTenant } from '../helpers/tenant';

const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts');
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

describe('the interactive reference at /docs (Swagger UI, served by Herald)', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let browser: Browser;

  beforeAll(async () => {
    isolated = await isolatedEnv('docs_page');
    herald = await startHerald({ env: isolated.env, roles: [] });
    tenant = await createTenant(herald.url);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await herald?.close();
    await isolated?.drop();
  });

  it('is a page of its own files, under a tight CSP; any other path under /docs is a 404', async () => {
    const anonymous = client(herald.url);
    const page = await anonymous('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
    // Offline: nothing from elsewhere, and no inline script.
    expect(page.body).not.toMatch(/https?:\/\//);
    expect(page.body).not.toMatch(/<script>/);
    expect(page.body).toContain('href="/docs/openapi.json"');
    // The same page at /docs/.
    const slash = await anonymous('GET', '/docs/');
    expect([slash.status, slash.headers.get('content-type'), slash.body]).toEqual([
      200,
      'text/html; charset=utf-8',
      page.body,
    ]);

    const assets = [...page.body.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.split('/').pop()).sort()).toEqual([
      'favicon-32x32.png',
      'herald-docs.js',
      'swagger-ui-bundle.js',
      'swagger-ui.css',
    ]);
    for (const asset of assets) {
      const response = await fetch(`${herald.url}${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
      expect(response.headers.get('content-type')).toMatch(
        asset.endsWith('.js') ? /^text\/javascript/ : asset.endsWith('.css') ? /^text\/css/ : /^image\/png$/,
      );
      expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      // Read to the end: a body left unread keeps the connection busy, and the server's close waits for it.
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    }

    // Only the listed files of the current version: no other file of the package, no way out of it.
    const version = assets[0]!.split('/')[3];
    for (const path of [
      '/docs/nothing-here',
      '/docs/assets/swagger-ui.css',
      `/docs/assets/0000/swagger-ui.css`,
      `/docs/assets/${version}/index.html`,
      `/docs/assets/${version}/swagger-ui-bundle.js.map`,
      `/docs/assets/${version}/..%2F..%2F..%2Fpackage.json`,
      `/docs/assets/${version}/%2e%2e%2fpackage.json`,
      `/docs/assets/${version}/swagger-ui.css/x`,
      `/docs/assets/${version}/__proto__`,
    ]) {
      const missing = await anonymous('GET', path);
      expect({ path, status: missing.status }).toEqual({ path, status: 404 });
      expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('lists every operation, and tries one with a key given to Authorize', async () => {
    const sent = await tenant.ingest('POST', '/v1/events', { type: 'docs.tried', to: { subscriberId: 'ada' } });
    expect(sent.status).toBe(202);
    const document = (await client(herald.url)('GET', '/docs/openapi.json')).body;
    const operations = Object.values(document.paths as Record<string, object>).flatMap((item) =>
      Object.keys(item).filter((m) => METHODS.includes(m)),
    );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('requestfailed', (request) => problems.push(`${request.url()}: ${request.failure()?.errorText}`));
    page.on('request', (request) => {
      if (!request.url().startsWith(herald.url)) elsewhere.push(request.url());
    });
    // CSP violations are console errors too; listened for here as well, to be sure none goes unseen.
    await page.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
    );
    try {
      await page.goto(`${herald.url}/docs`);
      const operation = (method: string, path: string) =>
        page.locator(`.opblock-${method}`, { has: page.locator(`.opblock-summary-path[data-path="${path}"]`) });
      await operation('post', '/v1/events').waitFor();
      expect(await page.locator('.opblock').count()).toBe(operations.length);
      expect(await page.title()).toBe(document.info.title);

      await page.locator('.scheme-container button.authorize').click();
      const dialog = page.locator('.dialog-ux .modal-ux');
      await dialog.locator('.auth-container', { hasText: 'bearer' }).first().locator('input').fill(tenant.keys.ingest);
      await dialog.locator('.auth-container', { hasText: 'bearer' }).first().locator('button.authorize').click();
      await dialog.locator('button.btn-done').first().click();

      const list = operation('get', '/v1/events');
      await list.locator('.opblock-summary-control').click();
      await list.locator('button.execute').click();
      const answer = list.locator('.live-responses-table .response').first();
      await expect(answer.locator('.response-col_status').textContent({ timeout: 15_000 })).resolves.toBe('200');
      await expect(answer.locator('.response-col_description').textContent()).resolves.toContain(sent.body.id);
      // The curl shown is the call that was made, with the key.
      await expect(list.locator('.curl-command').textContent()).resolves.toContain(`Bearer ${tenant.keys.ingest}`);

      // A call with a body: the request editor, then Herald's 202.
      const send = operation('post', '/v1/events');
      await send.locator('.opblock-summary-control').click();
      await send
        .locator('textarea.body-param__text')
        .fill(JSON.stringify({ type: 'docs.sent', to: { subscriberId: 'grace' } }));
      await send.locator('button.execute').click();
      const accepted = send.locator('.live-responses-table .response').first();
      await expect(accepted.locator('.response-col_status').textContent({ timeout: 15_000 })).resolves.toBe('202');
      const { id } = JSON.parse((await accepted.locator('.response-col_description pre').first().textContent())!);
      expect((await tenant.ingest('GET', `/v1/events/${id}`)).body).toMatchObject({ type: 'docs.sent' });

      // The shapes, at the foot of the page.
      const problem = page.locator('section.models .model-container', { hasText: 'Problem' }).first();
      await problem.locator('.model-box-control').first().click();
      await problem.locator('.property-row', { hasText: 'requestId' }).waitFor();

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'docs-page.png') });
      // The key outlives a reload (persistAuthorization).
      await page.reload();
      await page.locator('.scheme-container button.authorize.locked').waitFor();
      expect(problems).toEqual([]);
      expect(elsewhere).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
