import * as http from 'node:http';
import * as net from 'node:net';
import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, SsrfBlockedError, ssrfRefusal, type OutboundDelivery } from '@herald/channels';
import { WebhookProvider } from '../../../libs/channels/src/webhook/webhook.provider';
import { SandboxRecorder, WebhookReceiver } from '@herald/sandbox';

/**
 * The real WebhookProvider against a real local endpoint. Everything stays on 127.0.0.1: the SSRF
 * cases name private and metadata addresses, and must be refused before any socket is opened.
 */

let sequence = 0;
function delivery(): OutboundDelivery {
  sequence++;
  return { id: `dlv_test_${sequence}`, tenantId: 'tenant_1', eventId: `evt_${sequence}`, attempt: 1 };
}

const PAYLOAD = JSON.stringify({ type: 'order.shipped', data: { orderId: 'o_1', note: 'naïve ✓' } });

/**
 * A safety net, not an assertion: if the guard ever regressed, this suite still must not send a
 * packet off the machine. Any socket aimed at a non-loopback IP is destroyed before it connects,
 * which also makes such a regression fail the tests below (the error is not ssrf_blocked).
 */
const realConnect = net.Socket.prototype.connect;
function installTripwire() {
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host = typeof first === 'object' && first !== null ? (first as { host?: string }).host : args[1];
    if (typeof host === 'string' && net.isIP(host) && !['127.0.0.1', '::1'].includes(host)) {
      // Later than now, so the request has its error listener on the socket by then.
      setImmediate(() => this.destroy(new Error(`tripwire: this test tried to connect to ${host}`)));
      return this;
    }
    return (realConnect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof realConnect;
}

describe('WebhookProvider', () => {
  let receiver: WebhookReceiver;
  let secret: string;
  const recorder = new SandboxRecorder();

  beforeAll(async () => {
    installTripwire();
    receiver = await WebhookReceiver.start({ recorder });
  });
  afterAll(async () => {
    net.Socket.prototype.connect = realConnect;
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.reset();
    secret = generateWebhookSecret();
    receiver.setSecret(secret);
  });

  describe('to an endpoint on a private network, allowed', () => {
    let provider: WebhookProvider;
    beforeAll(() => {
      provider = new WebhookProvider({ allowPrivateNetworks: true, timeoutMs: 2000 });
    });
    afterAll(() => provider.close());

    it('POSTs the payload signed the Standard Webhooks way; 200 is ok', async () => {
      const d = delivery();
      const sentFrom = Math.floor(Date.now() / 1000);
      const result = await provider.send(d, { url: receiver.urlFor('/hooks'), secret, payload: PAYLOAD });
      const sentBy = Math.ceil(Date.now() / 1000);

      expect(result).toEqual({ outcome: 'ok', code: '200', providerMessageId: d.id });
      const [received] = receiver.requests();
      expect(received).toMatchObject({ method: 'POST', path: '/hooks', body: PAYLOAD, signatureValid: true });
      expect(received.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': d.id });
      // The signing time, in whole seconds, is when the request was made.
      const timestamp = Number(received.headers['webhook-timestamp']);
      expect(timestamp).toBeGreaterThanOrEqual(sentFrom);
      expect(timestamp).toBeLessThanOrEqual(sentBy);
      // Verified again by an implementation we did not write.
      const signed = {
        'webhook-id': String(received.headers['webhook-id']),
        'webhook-timestamp': String(received.headers['webhook-timestamp']),
        'webhook-signature': String(received.headers['webhook-signature']),
      };
      expect(new Webhook(secret).verify(received.body, signed)).toEqual(JSON.parse(PAYLOAD));
      expect(recorder.list({ channel: 'webhook', limit: 1 })[0]).toMatchObject({
        to: '/hooks',
        summary: 'order.shipped',
        outcome: 'accepted',
        detail: { signatureValid: true },
      });
    });

    it('410 marks the endpoint gone', async () => {
      receiver.failNext(1, 410);
      expect(
        await provider.send(delivery(), { url: receiver.urlFor('/gone'), secret, payload: PAYLOAD }),
      ).toMatchObject({ outcome: 'bad_address', code: '410' });
    });

    it('500, 429 and 408 are retried later, honouring Retry-After', async () => {
      receiver.failNext(1, 500);
      receiver.failNext(1, 429, { 'retry-after': '2' });
      receiver.failNext(1, 408);
      const url = receiver.urlFor('/busy');
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await provider.send(delivery(), { url, secret, payload: PAYLOAD }));
      expect(results).toEqual([
        expect.objectContaining({ outcome: 'retryable', code: '500' }),
        expect.objectContaining({ outcome: 'retryable', code: '429', retryAfterMs: 2000 }),
        expect.objectContaining({ outcome: 'retryable', code: '408' }),
      ]);
      expect(results[0]).not.toHaveProperty('retryAfterMs');
    });

    it('404 and 400 are permanent', async () => {
      receiver.respondWith('/missing', 404);
      receiver.respondWith('/picky', 400, { body: '{"error":"bad payload"}' });
      expect(
        await provider.send(delivery(), { url: receiver.urlFor('/missing'), secret, payload: PAYLOAD }),
      ).toMatchObject({ outcome: 'permanent', code: '404' });
      expect(
        await provider.send(delivery(), { url: receiver.urlFor('/picky'), secret, payload: PAYLOAD }),
      ).toMatchObject({
        outcome: 'permanent',
        code: '400',
      });
    });

    it('a redirect is permanent, names the Location, and is not followed', async () => {
      receiver.redirectTo('/moved', receiver.urlFor('/internal'));
      const result = await provider.send(delivery(), { url: receiver.urlFor('/moved'), secret, payload: PAYLOAD });

      expect(result).toMatchObject({ outcome: 'permanent', code: '302' });
      expect(result.message).toContain(receiver.urlFor('/internal'));
      expect(receiver.requests().map((r) => r.path)).toEqual(['/moved']);
    });

    it('an endpoint slower than timeoutMs is retried later', async () => {
      // An endpoint that holds its answer until the test lets it go: the provider must give up first.
      const held: http.ServerResponse[] = [];
      const slow = http.createServer((_req, res) => void held.push(res));
      await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
      const impatient = new WebhookProvider({ allowPrivateNetworks: true, timeoutMs: 2000 });
      try {
        const url = `http://127.0.0.1:${(slow.address() as net.AddressInfo).port}/slow`;
        const result = await impatient.send(delivery(), { url, secret, payload: PAYLOAD });

        expect(result).toMatchObject({ outcome: 'retryable', code: 'timeout' });
        // The request arrived, and its answer had not been sent when the provider gave up.
        expect(held).toHaveLength(1);
        expect(held[0].headersSent).toBe(false);
      } finally {
        for (const res of held) res.destroy();
        await impatient.close();
        slow.closeAllConnections();
        await new Promise((resolve) => slow.close(resolve));
      }
    });

    it('a closed port is retried later', async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const { port } = closed.address() as net.AddressInfo;
      await new Promise((resolve) => closed.close(resolve));

      expect(
        await provider.send(delivery(), { url: `http://127.0.0.1:${port}/`, secret, payload: PAYLOAD }),
      ).toMatchObject({ outcome: 'retryable', code: 'ECONNREFUSED' });
    });

    it('reads at most maxResponseBytes of an answer, then hangs up', async () => {
      // An endpoint that never stops answering: only a reader that stops can end this exchange.
      const endless = http.createServer();
      await new Promise<void>((resolve) => endless.listen(0, '127.0.0.1', resolve));
      const endlessUrl = `http://127.0.0.1:${(endless.address() as net.AddressInfo).port}/`;
      let written = 0;
      const hungUp = new Promise<void>((resolve) => {
        endless.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
          res.on('close', resolve);
          res.writeHead(200, { 'content-type': 'text/plain' });
          const chunk = Buffer.alloc(16 * 1024, 'x');
          const pump = () => {
            while (!res.destroyed && res.write(chunk)) written += chunk.length;
          };
          res.on('drain', pump);
          pump();
        });
      });
      const small = new WebhookProvider({ allowPrivateNetworks: true, timeoutMs: 5000, maxResponseBytes: 32 * 1024 });

      const result = await small.send(delivery(), { url: endlessUrl, secret, payload: PAYLOAD });
      await hungUp;
      await small.close();
      await new Promise((resolve) => endless.close(resolve));

      expect(result).toMatchObject({ outcome: 'ok', code: '200' });
      // The kernel's socket buffers absorb a few MB before the writer has to wait for the reader.
      expect(written).toBeLessThan(64 * 1024 * 1024);
    });

    it('a malformed URL or secret is permanent', async () => {
      expect(await provider.send(delivery(), { url: 'not a url', secret, payload: PAYLOAD })).toMatchObject({
        outcome: 'permanent',
        code: 'invalid_url',
      });
      expect(await provider.send(delivery(), { url: 'file:///etc/passwd', secret, payload: PAYLOAD })).toMatchObject({
        outcome: 'permanent',
        code: 'invalid_url',
      });
      expect(
        await provider.send(delivery(), { url: receiver.urlFor('/hooks'), secret: 'whsec_???', payload: PAYLOAD }),
      ).toMatchObject({ outcome: 'permanent', code: 'invalid_secret' });
      expect(receiver.requests()).toEqual([]);
    });
  });

  describe('with the SSRF guard on', () => {
    let guarded: WebhookProvider;
    // Plain TCP listeners on loopback, IPv4 and IPv6 on one port, counting the connections they get: a
    // refusal comes before any (with only the IPv4 one, a guard that connected to ::1 first went unseen).
    let listener: net.Server;
    let listener6: net.Server;
    let connections = 0;
    const counting = () =>
      net.createServer((socket) => {
        connections++;
        socket.destroy();
      });
    beforeAll(async () => {
      guarded = new WebhookProvider({ allowPrivateNetworks: false, timeoutMs: 1000 });
      listener = counting();
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      listener6 = counting();
      await new Promise<void>((resolve, reject) => {
        listener6.once('error', reject);
        listener6.listen(port(), '::1', resolve);
      });
    });
    afterAll(async () => {
      await guarded.close();
      await new Promise((resolve) => listener.close(resolve));
      await new Promise((resolve) => listener6.close(resolve));
    });

    function port() {
      return (listener.address() as net.AddressInfo).port;
    }

    it.each([
      ['loopback', () => `http://127.0.0.1:${port()}/hooks`, '127.0.0.1'],
      ['a private network', () => 'http://10.0.0.1/hooks', '10.0.0.1'],
      ['the cloud metadata service', () => 'http://169.254.169.254/latest/meta-data', '169.254.169.254'],
      ['IPv6 loopback', () => `http://[::1]:${port()}/hooks`, '::1'],
      ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port()}/hooks`, '::ffff:7f00:1'],
      ['loopback written as a decimal number', () => `http://2130706433:${port()}/hooks`, '127.0.0.1'],
      ['loopback written in hex', () => `http://0x7f000001:${port()}/hooks`, '127.0.0.1'],
    ])('refuses %s before connecting', async (_what, url, address) => {
      const before = connections;
      const result = await guarded.send(delivery(), { url: url(), secret, payload: PAYLOAD });

      // The guard's own decision, word for word: a connect error or a timeout would read differently.
      const reason = ssrfRefusal(address);
      expect(reason).toBeDefined();
      expect(result).toEqual({
        outcome: 'permanent',
        code: 'ssrf_blocked',
        message: new SsrfBlockedError(address, address, reason!).message,
      });
      // (the private and metadata addresses would meet the tripwire, which reads differently)
      expect(connections).toBe(before);
    });

    it('refuses a host name that resolves to loopback, checking the resolved address', async () => {
      const result = await guarded.send(delivery(), {
        url: `http://localhost:${port()}/hooks`,
        secret,
        payload: PAYLOAD,
      });

      expect(result).toMatchObject({ outcome: 'permanent', code: 'ssrf_blocked' });
      expect(result.message).toMatch(/^refused to connect to localhost \((127\.0\.0\.1|::1)\): loopback$/);
      expect(connections).toBe(0);
    });

    // A redirect to a private address cannot even be set up here: the first hop, to this loopback
    // receiver, is itself refused. That redirects are never followed is shown with the guard off
    // above, and the guard checking every connection is unit-tested in ssrf-guard.spec.ts.
    it('refuses the first hop of a redirect chain that starts on a private address', async () => {
      receiver.redirectTo('/moved', 'http://169.254.169.254/latest/meta-data');
      const result = await guarded.send(delivery(), { url: receiver.urlFor('/moved'), secret, payload: PAYLOAD });

      expect(result).toMatchObject({ outcome: 'permanent', code: 'ssrf_blocked' });
      expect(receiver.requests()).toEqual([]);
    });
  });
});
