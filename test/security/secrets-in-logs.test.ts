import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { generateWebhookSecret, signWebhook } from '@herald/channels';
import { isolatedEnv, TEST_ROOT_KEY, type IsolatedEnv } from '../helpers/herald';
import { client, eventually } from '../helpers/http';
import {
  ensureBuilt,
  killStarted,
  openRawStream,
  processEnv,
  startProcess,
  type RunningProcess,
} from '../helpers/processes';
import { createTenant, type TestTenant } from '../helpers/tenant';

const TWILIO_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const TWILIO_TOKEN = 'twilio-auth-token-7f3a9c1e5b2d4f6a';
const SMTP_PASSWORD = 'smtp-pass-Qx8rT2vLm9';
const TOKEN_SECRET = 'inbox-token-secret-4d8e2a7c9b1f3e5d';
const FEEDBACK_SECRET = generateWebhookSecret();

/** Every shape a secret could take on the way to a log line: as is, URL-encoded, without its prefix. */
function shapes(secret: string): string[] {
  const bare = secret.replace(/^(whsec_|hk_(admin|ingest)_|hit_)/, '');
  return [...new Set([secret, encodeURIComponent(secret), bare, encodeURIComponent(bare)])];
}

/**
 * The api and a worker as real processes, at LOG_LEVEL=debug, through a run that uses every kind of
 * secret Herald holds — on the happy path and on the failing one (refused keys, providers that are down
 * or answer 500, forged signatures) — and then not one of those secrets is anywhere in their output.
 */
describe('secrets never reach the logs', () => {
  let isolated: IsolatedEnv;
  let failing: Server;
  let api: RunningProcess;
  let worker: RunningProcess;
  let base: string;
  let failingUrl: string;

  beforeAll(async () => {
    const build = await ensureBuilt();
    console.log(`entry points: ${build.built ? `built in ${build.seconds.toFixed(1)} s` : build.reason}`);
    isolated = await isolatedEnv('secrets-in-logs');
    // Twilio's API and the webhook endpoint: both answer 500, so the error paths log too.
    failing = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"code":20500,"message":"down"}');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    failingUrl = `http://127.0.0.1:${(failing.address() as AddressInfo).port}`;
    const env = processEnv({
      ...isolated.env,
      LOG_LEVEL: 'debug',
      HERALD_TOKEN_SECRET: TOKEN_SECRET,
      FEEDBACK_WEBHOOK_SECRET: FEEDBACK_SECRET,
      // Port 9 (discard) is closed here: every SMTP connection fails, with the URL in hand.
      SMTP_URL: `smtp://herald:${SMTP_PASSWORD}@127.0.0.1:9`,
      TWILIO_ACCOUNT_SID: TWILIO_SID,
      TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
      TWILIO_FROM: '+15005550006',
      TWILIO_API_BASE_URL: failingUrl,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_BASE_DELAY_MS: '10',
      RETRY_MAX_DELAY_MS: '50',
    });
    api = startProcess('api', [], env);
    worker = startProcess('worker', ['--roles', 'relay,fanout,email,sms,inapp,webhook,housekeeping'], env);
    const { port } = (await api.waitForLog((line) => String(line.msg).startsWith('api listening'), 60_000)) as {
      port: number;
    };
    await worker.waitForLog((line) => String(line.msg).startsWith('worker running roles'), 60_000);
    base = `http://127.0.0.1:${port}`;
  }, 300_000);
  afterAll(async () => {
    await killStarted();
    await new Promise((resolve) => failing?.close(resolve));
    await isolated?.drop();
  });

  it('holds no API key, root key, signing secret, inbox token, SMTP password or Twilio token', async () => {
    const tenant: TestTenant = await createTenant(base);
    const extraKey = (await tenant.admin('POST', '/v1/keys', { scope: 'admin' })).body.key as string;
    const endpoint = (await tenant.admin('POST', '/v1/webhook-endpoints', { url: `${failingUrl}/hook` })).body;
    const source = (
      await tenant.admin('POST', '/v1/sources', { name: 's', eventType: 'leak', mapping: { subscriberId: '/id' } })
    ).body;
    await tenant.admin('PUT', '/v1/rules/leak', {
      channels: [
        { channel: 'email', template: { subject: 'Hi', text: 'Hello' } },
        { channel: 'sms', template: { body: 'Hello' } },
        { channel: 'inapp', template: { title: 'Hi', body: 'Hello' } },
        { channel: 'webhook', template: {} },
      ],
    });

    // Every channel, each failing where it can: SMTP refused, Twilio and the endpoint answering 500.
    const event = await tenant.ingest('POST', '/v1/events', {
      type: 'leak',
      to: { subscriberId: 'alice', email: 'alice@example.com', phone: '+15551234567' },
    });
    expect(event.status).toBe(202);
    const deliveries = await eventually(
      async () => {
        const { body } = await tenant.ingest('GET', `/v1/events/${event.body.id}`);
        const all: { channel: string; status: string }[] = body.deliveries ?? [];
        return all.length === 4 && all.every((d) => ['sent', 'dead', 'failed'].includes(d.status)) ? all : undefined;
      },
      90_000,
      'every delivery to end',
    );
    expect(Object.fromEntries(deliveries.map((d) => [d.channel, d.status]))).toEqual({
      email: 'dead',
      sms: 'dead',
      inapp: 'sent',
      webhook: 'dead',
    });

    // Inbox tokens in the header, in ?token= (the stream's way), and a live stream.
    const token = (await tenant.admin('POST', '/v1/subscribers/alice/inbox-token')).body.token as string;
    expect((await client(base, token)('GET', '/v1/inbox')).status).toBe(200);
    expect((await client(base)('GET', `/v1/inbox?token=${encodeURIComponent(token)}`)).status).toBe(200);
    const stream = await openRawStream(`${base}/v1/inbox/stream?token=${encodeURIComponent(token)}`);
    stream.close();

    // An assistant's session through /mcp (every tool call is an in-process call carrying the key), and a
    // session refused for a wrong key.
    const mcp = new McpClient({ name: 'secrets-test', version: '1.0.0' });
    const mcpTransport = (key: string) =>
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      });
    await mcp.connect(mcpTransport(tenant.keys.admin));
    expect((await mcp.listTools()).tools.length).toBeGreaterThan(10);
    expect((await mcp.callTool({ name: 'get_event', arguments: { eventId: event.body.id } })).isError).toBeFalsy();
    await mcp.callTool({ name: 'explain_notifications', arguments: { subscriberId: 'alice' } });
    await mcp.close();
    await expect(
      new McpClient({ name: 'secrets-test', version: '1.0.0' }).connect(mcpTransport(`${tenant.keys.admin}x`)),
    ).rejects.toThrow(/401/);

    // Refusals: a revoked key, keys where they do not belong, forged signatures made with real secrets.
    await tenant.admin('DELETE', `/v1/keys/${(await tenant.admin('GET', '/v1/keys')).body.items[0].id}`);
    expect((await client(base)('GET', `/v1/rules?key=${encodeURIComponent(extraKey)}`)).status).toBe(401);
    expect((await client(base, tenant.keys.ingest)('GET', '/v1/rules')).status).toBe(403);
    const hookBody = JSON.stringify({ id: 'alice' });
    const hookHeaders = signWebhook({
      id: 'm1',
      timestamp: Math.floor(Date.now() / 1000),
      payload: hookBody,
      secret: source.secret,
    });
    expect((await client(base)('POST', `/v1/hooks/${source.id}`, hookBody, { ...hookHeaders })).status).toBe(202);
    expect((await client(base)('POST', `/v1/hooks/${source.id}`, `${hookBody} `, { ...hookHeaders })).status).toBe(401);
    const feedback = JSON.stringify({ type: 'bounce', permanent: true, email: 'alice@example.com' });
    const feedbackHeaders = signWebhook({
      id: 'f1',
      timestamp: Math.floor(Date.now() / 1000),
      payload: feedback,
      secret: FEEDBACK_SECRET,
    });
    expect((await client(base)('POST', '/v1/feedback/email', feedback, { ...feedbackHeaders })).status).toBe(200);
    const params = { MessageSid: 'SM0', MessageStatus: 'delivered', To: '+15551234567' };
    const statusUrl = `${base}/v1/feedback/twilio/status`;
    for (const signature of [twilio.getExpectedTwilioSignature(TWILIO_TOKEN, statusUrl, params), 'forged']) {
      await client(base)('POST', '/v1/feedback/twilio/status', new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature,
      });
    }

    await Promise.all([api.stop(), worker.stop()]);
    const output = [api, worker]
      .map((p) => `${p.logs.map((l) => JSON.stringify(l)).join('\n')}\n${p.stderr()}`)
      .join('\n');
    // The capture covers the whole run: both processes' start, the worker's jobs (each channel's send
    // and its failure) and both shutdowns.
    expect(output).toContain('api listening');
    expect(output).toContain('api stopped');
    // a line per request, with its url (where ?token= and ?key= were sent)
    expect(api.logs.some((line) => line.msg === 'request completed')).toBe(true);
    expect(output).toContain('/v1/inbox?token=[Redacted]');
    const stopped = worker.logs.find((line) => line.msg === 'worker stopped') as { jobs?: Record<string, object> };
    expect(Object.keys(stopped?.jobs ?? {})).toEqual(
      expect.arrayContaining(['deliver.email', 'deliver.sms', 'deliver.webhook', 'deliver.inapp']),
    );

    const secrets: Record<string, string> = {
      'root key': TEST_ROOT_KEY,
      'admin key': tenant.keys.admin,
      'ingest key': tenant.keys.ingest,
      'second admin key': extraKey,
      'webhook endpoint secret': endpoint.secret,
      'source secret': source.secret,
      'inbox token': token,
      'inbox token signing secret': TOKEN_SECRET,
      'feedback secret': FEEDBACK_SECRET,
      'SMTP password': SMTP_PASSWORD,
      'Twilio auth token': TWILIO_TOKEN,
      'Twilio Basic credentials': Buffer.from(`${TWILIO_SID}:${TWILIO_TOKEN}`).toString('base64'),
    };
    const found = Object.entries(secrets).flatMap(([name, secret]) =>
      shapes(secret)
        .filter((shape) => output.includes(shape))
        .map(
          (shape) =>
            `${name}: ${output
              .split('\n')
              .find((line) => line.includes(shape))
              ?.slice(0, 400)}`,
        ),
    );
    expect(found).toEqual([]);
  }, 240_000);
});
