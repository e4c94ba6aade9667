import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import twilio from 'twilio';
import { generateWebhookSecret, signWebhook } from '@herald/channels';
import { SandboxHub, SendgridSigner, SnsSigner } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, type Answer } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const now = () => Math.floor(Date.now() / 1000);
/** One byte changed, as a man in the middle would: the JSON still parses and means something else. */
const tamper = (body: string) => body.replace('bounce', 'bounc3').replace('complaint', 'complain7');

/**
 * Every provider callback and inbound hook checks its sender's signature: a tampered body, a stale or
 * future timestamp, another key or no signature is refused (401, or 400 for missing headers) and
 * changes nothing; the same request correctly signed is accepted, so the refusals are the signature's.
 */
describe('signatures on provider callbacks and inbound hooks', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let certDir: string;
  const sns = SnsSigner.create('eu-west-1');
  const sendgrid = new SendgridSigner();
  const genericSecret = generateWebhookSecret();
  const anyone = () => client(herald.url);

  beforeAll(async () => {
    certDir = await mkdtemp(path.join(os.tmpdir(), 'herald-sns-'));
    await writeFile(path.join(certDir, 'sns.pem'), sns.certificatePem);
    isolated = await isolatedEnv('signatures');
    herald = await startHerald({
      env: {
        ...isolated.env,
        SNS_TRUSTED_CERT_URL: sns.certUrl,
        SNS_TRUSTED_CERT_FILE: path.join(certDir, 'sns.pem'),
        SES_SNS_TOPIC_ARNS: sns.topicArn,
        SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey,
        FEEDBACK_WEBHOOK_SECRET: genericSecret,
      },
      roles: ['relay', 'fanout', 'email'],
    });
    tenant = await createTenant(herald.url);
    await tenant.admin('PUT', '/v1/rules/mail', {
      channels: [{ channel: 'email', template: { subject: 'Hello', text: 'Hi' } }],
    });
  });
  afterAll(async () => {
    await herald?.close();
    await isolated?.drop();
    await rm(certDir, { recursive: true, force: true });
  });

  /** An email Herald really sent, so feedback about it finds its tenant (and can change something). */
  async function deliverEmail(email: string): Promise<{ id: string; providerMessageId: string }> {
    const event = await tenant.ingest('POST', '/v1/events', { type: 'mail', to: { subscriberId: email, email } });
    return (await waitForDeliveries(tenant.ingest, event.body.id, 'sent', 60_000)).deliveries[0];
  }

  async function suppressions(address: string, channel = 'email') {
    return (await tenant.admin('GET', `/v1/suppressions?channel=${channel}&address=${encodeURIComponent(address)}`))
      .body.items;
  }

  function expectRefused(what: string, answer: Answer, statuses = [401]) {
    const type = answer.headers.get('content-type')?.split(';')[0];
    expect([what, statuses.includes(answer.status) ? 'refused' : answer.status, type]).toEqual([
      what,
      'refused',
      'application/problem+json',
    ]);
  }

  it('Amazon SES through SNS: tampered, stale, foreign-signed and off-AWS certificate URLs are refused', async () => {
    let certFetches = 0;
    const certServer = createServer((_req, res) => {
      certFetches++;
      res.end(sns.certificatePem);
    });
    await new Promise<void>((resolve) => certServer.listen(0, '127.0.0.1', resolve));
    const internalCert = `http://127.0.0.1:${(certServer.address() as AddressInfo).port}/cert.pem`;
    const post = (message: object) =>
      anyone()('POST', '/v1/feedback/email/ses', JSON.stringify(message), { 'content-type': 'text/plain' });
    const sent = await deliverEmail('ses@example.com');
    const headers = [{ name: 'X-Herald-Delivery-Id', value: sent.id }];
    const good = sns.sesBounce(['ses@example.com'], { headers });
    try {
      const attempts: Record<string, object> = {
        'tampered Message': { ...good, Message: tamper(good.Message) },
        'tampered Type': { ...good, Type: 'SubscriptionConfirmation', SubscribeURL: internalCert, Token: 't' },
        stale: sns.sesBounce(['ses@example.com'], { headers, timestamp: new Date(Date.now() - 2 * 3600_000) }),
        // Another key, under the trusted certificate's URL (any other URL would be fetched from AWS).
        'signed by another key': {
          ...SnsSigner.create('eu-west-1').sesBounce(['ses@example.com'], { headers }),
          SigningCertURL: sns.certUrl,
        },
        'certificate on an internal host': { ...good, SigningCertURL: internalCert },
        'certificate on a look-alike host': {
          ...good,
          SigningCertURL: 'https://sns.eu-west-1.amazonaws.com.attacker.example/cert.pem',
        },
        'no signature': { ...good, Signature: '' },
      };
      for (const [what, message] of Object.entries(attempts)) expectRefused(what, await post(message), [400, 401]);
      expect(certFetches).toBe(0);
      expect(await suppressions('ses@example.com')).toEqual([]);
      expect((await post(good)).status).toBe(200);
      expect(await suppressions('ses@example.com')).toHaveLength(1);
    } finally {
      await new Promise((resolve) => certServer.close(resolve));
    }
  });

  it('SendGrid: tampered, stale, future, foreign-signed and unsigned batches are refused', async () => {
    const sent = await deliverEmail('sg@example.com');
    const events = JSON.stringify([
      { email: 'sg@example.com', event: 'bounce', type: 'bounce', sg_message_id: 'x', herald_delivery_id: sent.id },
    ]);
    const post = (body: string, headers: Record<string, string>) =>
      anyone()('POST', '/v1/feedback/email/sendgrid', body, headers);
    const attempts: [string, string, Record<string, string>, number[]?][] = [
      ['tampered body', tamper(events), sendgrid.sign(events).headers],
      ['stale timestamp', events, sendgrid.sign(events, now() - 6 * 60).headers],
      ['future timestamp', events, sendgrid.sign(events, now() + 6 * 60).headers],
      ['signed by another key', events, new SendgridSigner().sign(events).headers],
      ['unsigned', events, {}, [400]],
    ];
    // The timestamp is signed too: moving it breaks the signature.
    const signed = sendgrid.sign(events).headers;
    const [timestampHeader] = Object.keys(signed).filter((h) => /timestamp/i.test(h));
    attempts.push(['timestamp moved', events, { ...signed, [timestampHeader!]: String(now() - 30) }]);
    for (const [what, body, headers, statuses] of attempts) expectRefused(what, await post(body, headers), statuses);
    expect(await suppressions('sg@example.com')).toEqual([]);
    expect((await post(events, sendgrid.sign(events).headers)).status).toBe(200);
    expect(await suppressions('sg@example.com')).toHaveLength(1);
  });

  it('the generic feedback form (Standard Webhooks): tampered, stale, future, foreign-signed and unsigned are refused', async () => {
    const sent = await deliverEmail('gen@example.com');
    const body = JSON.stringify({ type: 'complaint', email: 'gen@example.com', messageId: sent.providerMessageId });
    const sign = (payload: string, opts: { timestamp?: number; secret?: string; id?: string } = {}) => ({
      ...signWebhook({
        id: opts.id ?? 'msg_1',
        timestamp: opts.timestamp ?? now(),
        payload,
        secret: opts.secret ?? genericSecret,
      }),
    });
    const post = (payload: string, headers: Record<string, string>) =>
      anyone()('POST', '/v1/feedback/email', payload, headers);
    const attempts: [string, string, Record<string, string>][] = [
      ['tampered body', tamper(body), sign(body)],
      ['stale timestamp', body, sign(body, { timestamp: now() - 6 * 60 })],
      ['future timestamp', body, sign(body, { timestamp: now() + 6 * 60 })],
      ['signed with another secret', body, sign(body, { secret: generateWebhookSecret() })],
      ['signature of another message id', body, { ...sign(body, { id: 'msg_2' }), 'webhook-id': 'msg_1' }],
      ['unsigned', body, {}],
    ];
    for (const [what, payload, headers] of attempts) expectRefused(what, await post(payload, headers), [400, 401]);
    expect(await suppressions('gen@example.com')).toEqual([]);
    expect((await post(body, sign(body))).status).toBe(200);
    expect(await suppressions('gen@example.com')).toHaveLength(1);
  });

  it('Twilio status callbacks and inbound SMS: tampered, re-pointed and foreign-signed posts are refused', async () => {
    const authToken = (await herald.app.get(SandboxHub).twilio()).authToken;
    const urlOf = (route: string) => `${herald.config.publicUrl}/v1/feedback/twilio/${route}`;
    const post = (route: string, params: Record<string, string>, signature: string) =>
      anyone()('POST', `/v1/feedback/twilio/${route}`, new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature,
      });
    const stop = { From: '+15551239999', To: '+15005550006', Body: 'STOP', MessageSid: 'SM1' };
    const signed = twilio.getExpectedTwilioSignature(authToken, urlOf('inbound'), stop);
    const attempts: [string, string, Record<string, string>, string][] = [
      ['tampered parameter', 'inbound', { ...stop, From: '+15551238888' }, signed],
      ['added parameter', 'inbound', { ...stop, Extra: '1' }, signed],
      ['signed for another route', 'status', stop, signed],
      [
        'signed with another token',
        'inbound',
        stop,
        twilio.getExpectedTwilioSignature('x'.repeat(32), urlOf('inbound'), stop),
      ],
      [
        'signed for another host',
        'inbound',
        stop,
        twilio.getExpectedTwilioSignature(authToken, 'https://attacker.example/v1/feedback/twilio/inbound', stop),
      ],
      ['unsigned', 'inbound', stop, ''],
    ];
    for (const [what, route, params, signature] of attempts) {
      expectRefused(what, await post(route, params, signature), [400, 401]);
    }
    expect(await suppressions('+15551239999', 'sms')).toEqual([]);
    expect((await post('inbound', stop, signed)).status).toBe(200);
    expect(await suppressions('+15551239999', 'sms')).toHaveLength(1);
  });

  it('inbound hooks (Standard Webhooks with the source secret): tampered, stale, future, foreign and unsigned make no event', async () => {
    const source = (
      await tenant.admin('POST', '/v1/sources', {
        name: 'shop',
        eventType: 'order.placed',
        mapping: { subscriberId: '/customer', data: '/order' },
      })
    ).body;
    const body = JSON.stringify({ customer: 'alice', order: { id: 1, total: 10 } });
    const sign = (payload: string, opts: { timestamp?: number; secret?: string; id?: string } = {}) => ({
      ...signWebhook({
        id: opts.id ?? 'msg_hook',
        timestamp: opts.timestamp ?? now(),
        payload,
        secret: opts.secret ?? source.secret,
      }),
    });
    const post = (payload: string, headers: Record<string, string>) =>
      anyone()('POST', `/v1/hooks/${source.id}`, payload, headers);
    const attempts: [string, string, Record<string, string>][] = [
      ['tampered body', body.replace('10', '1000'), sign(body)],
      ['stale timestamp', body, sign(body, { timestamp: now() - 6 * 60 })],
      ['future timestamp', body, sign(body, { timestamp: now() + 6 * 60 })],
      ['signed with another secret', body, sign(body, { secret: generateWebhookSecret() })],
      ['signature of another message id', body, { ...sign(body, { id: 'msg_other' }), 'webhook-id': 'msg_hook' }],
      ['timestamp moved', body, { ...sign(body), 'webhook-timestamp': String(now() - 30) }],
      ['unsigned', body, {}],
    ];
    for (const [what, payload, headers] of attempts) expectRefused(what, await post(payload, headers));
    expect((await tenant.ingest('GET', '/v1/events?type=order.placed')).body.items).toEqual([]);
    expect((await post(body, sign(body))).status).toBe(202);
    expect((await tenant.ingest('GET', '/v1/events?type=order.placed')).body.items).toHaveLength(1);
  });
});
