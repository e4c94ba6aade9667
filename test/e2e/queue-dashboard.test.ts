import { isolatedEnv, startHerald, TEST_ROOT_KEY, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client } from '../helpers/http';
import { createTenant } from '../helpers/tenant';

describe('the queue dashboard at /admin/queues', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;

  beforeAll(async () => {
    isolated = await isolatedEnv('dashboard');
    herald = await startHerald({ roles: [], env: isolated.env });
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
  });

  it('asks a browser for the root key and refuses anyone else', async () => {
    const anonymous = await fetch(`${herald.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="Herald queues"/);
    const tenant = await createTenant(herald.url);
    expect((await client(herald.url, tenant.keys.admin)('GET', '/admin/queues/api/queues')).status).toBe(401);
    const wrong = Buffer.from(`operator:${TEST_ROOT_KEY}x`).toString('base64');
    expect((await fetch(`${herald.url}/admin/queues`, { headers: { authorization: `Basic ${wrong}` } })).status).toBe(
      401,
    );
  });

  it('shows every Herald queue to the root key, in a browser (Basic) or over its API (Bearer)', async () => {
    const basic = Buffer.from(`operator:${TEST_ROOT_KEY}`).toString('base64');
    const page = await fetch(`${herald.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Herald queues');

    const api = await client(herald.url, TEST_ROOT_KEY)('GET', '/admin/queues/api/queues');
    expect(api.status).toBe(200);
    const names = api.body.queues.map((q: { name: string }) => q.name).sort();
    expect(names).toEqual(
      [
        'dead-letter',
        'deliver.email',
        'deliver.inapp',
        'deliver.push',
        'deliver.sms',
        'deliver.webhook',
        'fanout',
      ].sort(),
    );
    expect(api.body.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
  });

  it('is read-only: retrying, cleaning or pausing a queue is refused (405), even to the root key', async () => {
    const root = client(herald.url, TEST_ROOT_KEY);
    for (const path of ['fanout/retry/failed', 'fanout/clean/completed', 'fanout/promote', 'fanout/pause']) {
      expect([path, (await root('PUT', `/admin/queues/api/queues/${path}`)).status]).toEqual([path, 405]);
    }
    const fanout = (await root('GET', '/admin/queues/api/queues')).body.queues.find(
      (q: { name: string }) => q.name === 'fanout',
    );
    expect(fanout.isPaused).toBe(false);
  });
});
