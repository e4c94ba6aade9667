import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

/** A local HTTP server that counts every TCP connection made to it, answering `status` (and `location`). */
interface CountingServer {
  port: number;
  connections(): number;
  close(): Promise<void>;
}

async function countingServer(status = 200, location?: string): Promise<CountingServer> {
  let connections = 0;
  const server: Server = createServer((_req, res) => {
    res.writeHead(status, location ? { location } : {});
    res.end();
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Internal addresses in the forms an attacker writes them; `:PORT` is the counting server's. */
const INTERNAL_URLS = [
  'http://127.0.0.1:PORT/hook',
  'http://127.1:PORT/hook',
  'http://localhost:PORT/hook',
  'http://2130706433:PORT/hook',
  'http://0x7f000001:PORT/hook',
  'http://0177.0.0.1:PORT/hook',
  'http://017700000001:PORT/hook',
  'http://0.0.0.0:PORT/hook',
  'http://[::1]:PORT/hook',
  'http://[::ffff:127.0.0.1]:PORT/hook',
  'http://[::ffff:7f00:1]:PORT/hook',
  'http://[0:0:0:0:0:ffff:7f00:1]:PORT/hook',
  'http://user@example.com@127.0.0.1:PORT/hook',
  'http://10.0.0.1/hook',
  'http://172.16.0.1/hook',
  'http://192.168.0.1/hook',
  'http://100.64.0.1/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://[fd00::1]/hook',
  'http://[fe80::1]/hook',
];

/**
 * Webhook URLs that point inside the network are refused twice: when the endpoint is saved (422),
 * and when a delivery connects (so a URL that got past the first check — DNS answers change — never
 * reaches its address). Redirects are never followed. All of it unless private networks are allowed.
 */
describe('webhook SSRF', () => {
  let target: CountingServer;

  beforeAll(async () => {
    target = await countingServer();
  });
  afterAll(() => target?.close());

  const internal = () => INTERNAL_URLS.map((url) => url.replace('PORT', String(target.port)));

  describe('with the guard on (the default)', () => {
    let isolated: IsolatedEnv;
    let herald: RunningHerald;
    let tenant: TestTenant;
    let pool: Pool;

    beforeAll(async () => {
      isolated = await isolatedEnv('ssrf');
      herald = await startHerald({ env: isolated.env, roles: ['relay', 'fanout', 'webhook'] });
      expect(herald.config.providers.webhook.allowPrivateNetworks).toBe(false);
      tenant = await createTenant(herald.url);
      pool = new Pool({ connectionString: isolated.env.DATABASE_URL, max: 2 });
    });
    afterAll(async () => {
      await pool?.end();
      await herald?.close();
      await isolated?.drop();
    });

    it('refuses internal URLs when an endpoint is created or changed (422 naming the url)', async () => {
      const existing = (
        await tenant.admin('POST', '/v1/webhook-endpoints', { url: 'https://example.com/ok', eventTypes: ['unused'] })
      ).body;
      const wrong: string[] = [];
      for (const url of internal()) {
        for (const answer of [
          await tenant.admin('POST', '/v1/webhook-endpoints', { url }),
          await tenant.admin('PATCH', `/v1/webhook-endpoints/${existing.id}`, { url }),
        ]) {
          const refused =
            answer.status === 422 &&
            answer.headers.get('content-type')?.startsWith('application/problem+json') &&
            answer.body.type === '/problems/webhook-url-refused' &&
            answer.body.errors?.[0]?.path === 'url';
          if (!refused) wrong.push(`${url}: ${answer.status} ${JSON.stringify(answer.body)}`);
        }
      }
      expect(wrong).toEqual([]);
      const endpoints = (await tenant.admin('GET', '/v1/webhook-endpoints')).body.items;
      expect(endpoints.map((e: { url: string }) => e.url)).toEqual(['https://example.com/ok']);
      // Public addresses, and names that do not resolve (yet), are accepted.
      expect(
        (
          await tenant.admin('POST', '/v1/webhook-endpoints', {
            url: 'https://93.184.216.34/hook',
            eventTypes: ['unused'],
          })
        ).status,
      ).toBe(201);
      expect(target.connections()).toBe(0);
    });

    it('refuses them again when delivering, before connecting (an endpoint whose address changed)', async () => {
      await tenant.admin('PUT', '/v1/rules/ssrf.probe', { channels: [{ channel: 'webhook', template: {} }] });
      const urls = internal();
      const ids: string[] = [];
      for (let i = 0; i < urls.length; i++) {
        const created = await tenant.admin('POST', '/v1/webhook-endpoints', {
          url: `https://example.com/probe-${i}`,
          eventTypes: ['ssrf.probe'],
        });
        expect(created.status).toBe(201);
        ids.push(created.body.id);
        // As DNS rebinding would: the saved URL now leads inside.
        await pool.query('UPDATE webhook_endpoints SET url = $1 WHERE id = $2', [urls[i], created.body.id]);
      }
      const event = await tenant.ingest('POST', '/v1/events', { type: 'ssrf.probe', to: { subscriberId: 'probe' } });
      expect(event.status).toBe(202);
      const { deliveries } = await waitForDeliveries(tenant.ingest, event.body.id, 'failed', 60_000);
      expect(deliveries).toHaveLength(urls.length);
      const byEndpoint = new Map(deliveries.map((d: { endpointId: string }) => [d.endpointId, d]));
      for (const [i, id] of ids.entries()) {
        expect([urls[i], byEndpoint.get(id)]).toEqual([
          urls[i],
          expect.objectContaining({
            attempts: [expect.objectContaining({ outcome: 'permanent', code: 'ssrf_blocked' })],
          }),
        ]);
      }
      expect(target.connections()).toBe(0);
    }, 120_000);
  });

  describe('with private networks allowed (WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)', () => {
    let isolated: IsolatedEnv;
    let herald: RunningHerald;
    let tenant: TestTenant;

    beforeAll(async () => {
      isolated = await isolatedEnv('ssrf-allowed');
      herald = await startHerald({
        env: { ...isolated.env, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
        roles: ['relay', 'fanout', 'webhook'],
      });
      tenant = await createTenant(herald.url);
      await tenant.admin('PUT', '/v1/rules/hook', { channels: [{ channel: 'webhook', template: {} }] });
    });
    afterAll(async () => {
      await herald?.close();
      await isolated?.drop();
    });

    it('accepts and delivers to a loopback endpoint', async () => {
      const endpoint = await tenant.admin('POST', '/v1/webhook-endpoints', {
        url: `http://127.0.0.1:${target.port}/hook`,
        eventTypes: ['hook'],
      });
      expect(endpoint.status).toBe(201);
      const event = await tenant.ingest('POST', '/v1/events', { type: 'hook', to: { subscriberId: 'x' } });
      await waitForDeliveries(tenant.ingest, event.body.id, 'sent', 60_000);
      expect(target.connections()).toBeGreaterThan(0);
      await tenant.admin('DELETE', `/v1/webhook-endpoints/${endpoint.body.id}`);
    });

    it('never follows a redirect, wherever it points', async () => {
      const inside = await countingServer();
      const redirectors = await Promise.all([
        countingServer(302, `http://127.0.0.1:${inside.port}/internal`),
        countingServer(307, 'http://169.254.169.254/latest/meta-data/'),
        countingServer(301, `http://[::ffff:127.0.0.1]:${inside.port}/`),
      ]);
      try {
        for (const redirector of redirectors) {
          await tenant.admin('POST', '/v1/webhook-endpoints', {
            url: `http://127.0.0.1:${redirector.port}/hook`,
            eventTypes: ['redirected'],
          });
        }
        await tenant.admin('PUT', '/v1/rules/redirected', { channels: [{ channel: 'webhook', template: {} }] });
        const event = await tenant.ingest('POST', '/v1/events', { type: 'redirected', to: { subscriberId: 'x' } });
        const { deliveries } = await waitForDeliveries(tenant.ingest, event.body.id, 'failed', 60_000);
        expect(deliveries).toHaveLength(3);
        for (const d of deliveries) {
          expect(d.attempts).toEqual([
            expect.objectContaining({
              outcome: 'permanent',
              message: expect.stringContaining('redirects are not followed'),
            }),
          ]);
        }
        for (const redirector of redirectors) expect(redirector.connections()).toBe(1);
        expect(inside.connections()).toBe(0);
      } finally {
        await Promise.all([inside, ...redirectors].map((s) => s.close()));
      }
    });
  });
});
