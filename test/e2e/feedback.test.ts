import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Pool } from 'pg';
import twilio from 'twilio';
import { generateWebhookSecret, signWebhook } from '@herald/channels';
import { PG_POOL } from '@herald/db';
import { SandboxHub, SendgridSigner, SnsSigner, TWILIO_SANDBOX_FROM, type WebhookReceiver } from '@herald/sandbox';
import { isolatedEnv, startHerald, type IsolatedEnv, type RunningHerald } from '../helpers/herald';
import { client, eventually, type Answer } from '../helpers/http';
import { createTenant, waitForDeliveries, type TestTenant } from '../helpers/tenant';

const rules = {
  'fb.email': { channels: [{ channel: 'email', template: { subject: 'Hello', text: 'Order {{ data.n }}' } }] },
  'fb.sms': { channels: [{ channel: 'sms', template: { body: 'Order {{ data.n }}' } }] },
  'fb.hook': { channels: [{ channel: 'webhook', template: {} }] },
};

describe('feedback loops: every negative signal changes what Herald does next', () => {
  let isolated: IsolatedEnv;
  let herald: RunningHerald;
  let tenant: TestTenant;
  let sandboxes: SandboxHub;
  let receiver: WebhookReceiver;
  let certDir: string;
  let pool: Pool;
  const sns = SnsSigner.create('eu-west-1');
  const sendgrid = new SendgridSigner();
  const genericSecret = generateWebhookSecret();
  let n = 0;

  beforeAll(async () => {
    certDir = await mkdtemp(path.join(os.tmpdir(), 'herald-sns-'));
    await writeFile(path.join(certDir, 'sns.pem'), sns.certificatePem);
    isolated = await isolatedEnv('feedback');
    herald = await startHerald({
      env: {
        ...isolated.env,
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        SNS_TRUSTED_CERT_URL: sns.certUrl,
        SNS_TRUSTED_CERT_FILE: path.join(certDir, 'sns.pem'),
        SES_SNS_TOPIC_ARNS: `${sns.topicArn},arn:aws:sns:eu-west-1:123456789012:herald`,
        SENDGRID_WEBHOOK_PUBLIC_KEY: sendgrid.publicKey,
        FEEDBACK_WEBHOOK_SECRET: genericSecret,
        WEBHOOK_DISABLE_AFTER_FAILURES: '3',
        WEBHOOK_DISABLE_AFTER_SECONDS: '0',
        RETRY_MAX_ATTEMPTS: '1',
        RETRY_MAX_ATTEMPTS_SMS: '2',
        RETRY_BASE_DELAY_MS: '10',
      },
    });
    tenant = await createTenant(herald.url);
    pool = herald.app.get<Pool>(PG_POOL);
    sandboxes = herald.app.get(SandboxHub);
    receiver = await sandboxes.webhookReceiver();
    for (const [type, rule] of Object.entries(rules)) await tenant.admin('PUT', `/v1/rules/${type}`, rule);
  });
  afterAll(async () => {
    await herald.close();
    await isolated.drop();
    await rm(certDir, { recursive: true, force: true });
  });

  const anyone = () => client(herald.url);

  async function deliver(type: string, to: object, status = 'sent') {
    const answer = await tenant.ingest('POST', '/v1/events', { type, to, data: { n: ++n } });
    expect(answer.status).toBe(202);
    return (await waitForDeliveries(tenant.ingest, answer.body.id, status)).deliveries[0];
  }

  async function suppressionsOf(channel: string, address: string) {
    const answer = await tenant.admin(
      'GET',
      `/v1/suppressions?channel=${channel}&address=${encodeURIComponent(address)}`,
    );
    return answer.body.items as { reason: string; source: string; address: string }[];
  }

  /** What the next event to the address does: it must not reach the provider, and must say why. */
  async function expectSuppressedNext(type: string, to: object, sentBefore: () => number) {
    const before = sentBefore();
    const delivery = await deliver(type, to, 'suppressed');
    expect(delivery.lastError).toMatch(/suppression list/);
    expect(sentBefore()).toBe(before);
  }

  const emailsTo = (address: string) => () => sandboxes.recorder.list({ channel: 'email', to: address }).length;
  const smsTo = (number: string) => () => sandboxes.recorder.list({ channel: 'sms', to: number }).length;

  describe('email', () => {
    it('SMTP 550 at send: a hard bounce, suppressed, visible on the delivery', async () => {
      const to = { subscriberId: 'b1', email: 'bounce+b1@Example.com' };
      const first = await deliver('fb.email', to, 'failed');
      expect(await suppressionsOf('email', 'bounce+b1@example.com')).toEqual([
        expect.objectContaining({ reason: 'hard_bounce', source: 'smtp', address: 'bounce+b1@example.com' }),
      ]);
      const detail = await tenant.ingest('GET', `/v1/deliveries/${first.id}`);
      expect(detail.body.feedback).toEqual([
        expect.objectContaining({
          source: 'smtp',
          kind: 'bounce',
          outcome: 'suppressed',
          suppression: expect.objectContaining({ reason: 'hard_bounce' }),
        }),
      ]);
      await expectSuppressedNext('fb.email', to, emailsTo('bounce+b1@Example.com'));
    });

    it('a signed SES bounce (SNS, signature v1 and v2) suppresses; tampering, staleness and strangers change nothing', async () => {
      const to = { subscriberId: 's1', email: 'ses1@example.com' };
      const sent = await deliver('fb.email', to);
      const headers = [{ name: 'X-Herald-Delivery-Id', value: sent.id }];

      const tampered = {
        ...sns.sesBounce(['ses1@example.com'], { headers }),
        Message: '{"notificationType":"Bounce"}',
      };
      expect((await postSes(tampered)).status).toBe(401);
      const stale = sns.sesBounce(['ses1@example.com'], { headers, timestamp: new Date(Date.now() - 2 * 3600_000) });
      expect((await postSes(stale)).status).toBe(401);
      const stranger = sns.sesBounce(['ses1@example.com'], { messageId: 'not-ours' });
      expect((await postSes(stranger)).body).toEqual({ received: 1, outcomes: ['ignored'] });
      expect(await suppressionsOf('email', 'ses1@example.com')).toEqual([]);

      const transient = await postSes(
        sns.sesBounce(['ses1@example.com'], { headers, bounceType: 'Transient', version: '1' }),
      );
      expect(transient.body.outcomes).toEqual(['noted: transient bounce']);
      const bounce = await postSes(sns.sesBounce(['ses1@example.com'], { headers, diagnosticCode: 'smtp; 550 5.1.1' }));
      expect(bounce.status).toBe(200);
      expect(bounce.body.outcomes).toEqual(['suppressed; delivery failed']);
      expect((await tenant.ingest('GET', `/v1/deliveries/${sent.id}`)).body).toMatchObject({
        status: 'failed',
        lastError: expect.stringContaining('550 5.1.1'),
      });
      await expectSuppressedNext('fb.email', to, emailsTo('ses1@example.com'));
    });

    it('SES complaints suppress, deliveries mark delivered, subscription confirmations are recorded', async () => {
      const a = await deliver('fb.email', { subscriberId: 's2', email: 'ses2@example.com' });
      const b = await deliver('fb.email', { subscriberId: 's3', email: 'ses3@example.com' });
      await postSes(
        sns.sesDelivery(['ses2@example.com'], { headers: [{ name: 'X-Herald-Delivery-Id', value: a.id }] }),
      );
      expect((await tenant.ingest('GET', `/v1/deliveries/${a.id}`)).body.status).toBe('delivered');
      await postSes(
        sns.sesComplaint(['ses3@example.com'], { headers: [{ name: 'X-Herald-Delivery-Id', value: b.id }] }),
      );
      expect(await suppressionsOf('email', 'ses3@example.com')).toEqual([
        expect.objectContaining({ reason: 'complaint' }),
      ]);

      const confirmation = sns.sign({
        Type: 'SubscriptionConfirmation',
        MessageId: 'c-1',
        Token: 'token',
        TopicArn: 'arn:aws:sns:eu-west-1:123456789012:herald',
        Message: 'You have chosen to subscribe',
        SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=token',
        Timestamp: new Date().toISOString(),
      });
      expect((await postSes(confirmation)).body.outcomes).toEqual([
        'subscription pending: open SubscribeURL to confirm',
      ]);
    });

    it('a signed SendGrid batch: bounce and spam report suppress; bad signatures are refused', async () => {
      const sent = await deliver('fb.email', { subscriberId: 'g1', email: 'sg1@example.com' });
      const events = JSON.stringify([
        {
          email: 'sg1@example.com',
          event: 'bounce',
          type: 'bounce',
          sg_message_id: 'x.filter',
          herald_delivery_id: sent.id,
        },
        { email: 'sg1@example.com', event: 'spamreport', sg_message_id: 'x.filter', herald_delivery_id: sent.id },
        { email: 'sg1@example.com', event: 'open', sg_message_id: 'x.filter' },
      ]);
      const post = (body: string, headers: Record<string, string>) =>
        anyone()('POST', '/v1/feedback/email/sendgrid', body, headers);
      expect((await post(events, {})).status).toBe(400);
      expect((await post(events.replace('bounce', 'blocked'), sendgrid.sign(events).headers)).status).toBe(401);
      expect((await post(events, new SendgridSigner().sign(events).headers)).status).toBe(401);
      expect(await suppressionsOf('email', 'sg1@example.com')).toEqual([]);

      const answer = await post(events, sendgrid.sign(events).headers);
      expect(answer.status).toBe(200);
      expect(answer.body.outcomes).toEqual(['suppressed; delivery failed', 'suppressed']);
      // One entry per address: the complaint (the person's own word) outranks the bounce (suppressions.ts).
      expect(await suppressionsOf('email', 'sg1@example.com')).toEqual([
        expect.objectContaining({ reason: 'complaint' }),
      ]);
    });

    it('the generic Standard Webhooks form, for any other provider', async () => {
      const sent = await deliver('fb.email', { subscriberId: 'x1', email: 'gen1@example.com' });
      const body = JSON.stringify({ type: 'complaint', email: 'gen1@example.com', messageId: sent.providerMessageId });
      const headers = signWebhook({
        id: 'msg_1',
        timestamp: Math.floor(Date.now() / 1000),
        payload: body,
        secret: genericSecret,
      });
      const forged = signWebhook({
        id: 'msg_1',
        timestamp: Math.floor(Date.now() / 1000),
        payload: body,
        secret: generateWebhookSecret(),
      });
      expect((await anyone()('POST', '/v1/feedback/email', body, { ...forged })).status).toBe(401);
      const answer = await anyone()('POST', '/v1/feedback/email', body, { ...headers });
      expect(answer.body.outcomes).toEqual(['suppressed']);
      const invalid = JSON.stringify({ type: 'bounce' });
      const signed = signWebhook({
        id: 'msg_2',
        timestamp: Math.floor(Date.now() / 1000),
        payload: invalid,
        secret: genericSecret,
      });
      expect((await anyone()('POST', '/v1/feedback/email', invalid, { ...signed })).status).toBe(400);
    });

    function postSes(message: object): Promise<Answer> {
      return anyone()('POST', '/v1/feedback/email/ses', JSON.stringify(message), {
        'content-type': 'text/plain; charset=UTF-8',
      });
    }
  });

  describe('SMS', () => {
    async function twilioPost(route: 'status' | 'inbound', params: Record<string, string>, authToken?: string) {
      const token = authToken ?? (await sandboxes.twilio()).authToken;
      const url = `${herald.config.publicUrl}/v1/feedback/twilio/${route}`;
      return anyone()('POST', `/v1/feedback/twilio/${route}`, new URLSearchParams(params).toString(), {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params),
      });
    }

    it('a signed status callback with 30006 fails the delivery and suppresses the number; delivered receipts mark delivered', async () => {
      const ok = await deliver('fb.sms', { subscriberId: 'm0', phone: '+15551230000' });
      const receipt = { MessageSid: ok.providerMessageId, MessageStatus: 'delivered', To: '+15551230000' };
      expect((await twilioPost('status', receipt)).status).toBe(204);
      expect((await tenant.ingest('GET', `/v1/deliveries/${ok.id}`)).body.status).toBe('delivered');

      const to = { subscriberId: 'm1', phone: '+15551230006' };
      const sent = await deliver('fb.sms', to);
      const params = {
        MessageSid: sent.providerMessageId,
        MessageStatus: 'undelivered',
        ErrorCode: '30006',
        To: '+15551230006',
      };
      expect((await twilioPost('status', params, 'not-the-token')).status).toBe(401);
      expect((await tenant.ingest('GET', `/v1/deliveries/${sent.id}`)).body.status).toBe('sent');

      expect((await twilioPost('status', params)).status).toBe(204);
      expect((await tenant.ingest('GET', `/v1/deliveries/${sent.id}`)).body).toMatchObject({
        status: 'failed',
        lastError: 'carrier: undelivered (30006)',
      });
      expect(await suppressionsOf('sms', '+15551230006')).toEqual([
        expect.objectContaining({ reason: 'invalid_address', source: 'twilio' }),
      ]);
      await expectSuppressedNext('fb.sms', to, smsTo('+15551230006'));
      const unknown = { MessageSid: 'SM00000000000000000000000000000000', MessageStatus: 'failed', To: '+15551230007' };
      expect((await twilioPost('status', unknown)).status).toBe(204);
    });

    it('30003 (handset unreachable) is sent again later, within the retry budget', async () => {
      const sent = await deliver('fb.sms', { subscriberId: 'm4', phone: '+15551230003' });
      const unreachable = { MessageStatus: 'undelivered', ErrorCode: '30003', To: '+15551230003' };
      expect((await twilioPost('status', { ...unreachable, MessageSid: sent.providerMessageId })).status).toBe(204);
      const resent = await eventually(async () => {
        const now = (await tenant.ingest('GET', `/v1/deliveries/${sent.id}`)).body;
        return now.status === 'sent' && now.attempts.length === 2 ? now : undefined;
      });
      expect(resent.providerMessageId).not.toBe(sent.providerMessageId);

      // The budget (2 attempts) is spent: the next 30003 fails the delivery for good.
      await twilioPost('status', { ...unreachable, MessageSid: resent.providerMessageId });
      expect((await tenant.ingest('GET', `/v1/deliveries/${sent.id}`)).body).toMatchObject({
        status: 'failed',
        lastError: 'carrier: undelivered (30003)',
      });
    });

    it('inbound STOP suppresses the sender, START lifts it', async () => {
      const to = { subscriberId: 'm2', phone: '+15551234567' };
      const stop = await twilioPost('inbound', { From: '+15551234567', To: TWILIO_SANDBOX_FROM, Body: ' stop ' });
      expect(stop.status).toBe(200);
      expect(stop.headers.get('content-type')).toMatch(/text\/xml/);
      expect(await suppressionsOf('sms', '+15551234567')).toEqual([expect.objectContaining({ reason: 'opt_out' })]);
      await expectSuppressedNext('fb.sms', to, smsTo('+15551234567'));

      await twilioPost('inbound', { From: '+15551234567', To: TWILIO_SANDBOX_FROM, Body: 'START' });
      expect(await suppressionsOf('sms', '+15551234567')).toEqual([]);
      await deliver('fb.sms', to, 'sent');
    });

    it('21610 at send time (the number had opted out) suppresses it', async () => {
      await deliver('fb.sms', { subscriberId: 'm3', phone: '+15005550004' }, 'failed');
      expect(await suppressionsOf('sms', '+15005550004')).toEqual([expect.objectContaining({ reason: 'opt_out' })]);
    });
  });

  describe('webhook endpoints', () => {
    it('consecutive failures past the threshold disable the endpoint; later deliveries are skipped; PATCH re-enables', async () => {
      const endpoint = (
        await tenant.admin('POST', '/v1/webhook-endpoints', {
          url: receiver.urlFor('/hooks/down'),
          eventTypes: ['fb.hook'],
        })
      ).body;
      receiver.respondWith('/hooks/down', 500);
      for (let i = 0; i < 3; i++) await deliver('fb.hook', { subscriberId: 'w' }, 'dead');
      const disabled = (await tenant.admin('GET', `/v1/webhook-endpoints/${endpoint.id}`)).body;
      expect(disabled).toMatchObject({
        active: false,
        disabledReason: expect.stringMatching(/failed 3 times in a row/),
      });
      // A disabled endpoint gets no new deliveries (one already queued for it ends skipped, with the reason).
      const later = await tenant.ingest('POST', '/v1/events', { type: 'fb.hook', to: { subscriberId: 'w' } });
      await eventually(async () =>
        (await tenant.ingest('GET', `/v1/events/${later.body.id}`)).body.status === 'routed' ? true : undefined,
      );
      expect((await tenant.ingest('GET', `/v1/events/${later.body.id}`)).body.deliveries).toEqual([]);

      receiver.respondWith('/hooks/down', 200);
      expect(
        (await tenant.admin('PATCH', `/v1/webhook-endpoints/${endpoint.id}`, { active: true })).body,
      ).toMatchObject({
        active: true,
        consecutiveFailures: 0,
      });
      await deliver('fb.hook', { subscriberId: 'w' }, 'sent');
    });
  });

  describe('the suppression list API', () => {
    it('adds (normalized), searches, lifts, and refuses what is not an address', async () => {
      const added = await tenant.admin('POST', '/v1/suppressions', { channel: 'email', address: 'Manual@Example.ORG' });
      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({ address: 'Manual@example.org', reason: 'manual', source: 'admin' });
      expect(await suppressionsOf('email', 'Manual@EXAMPLE.org')).toHaveLength(1);
      const bad = await tenant.admin('POST', '/v1/suppressions', { channel: 'sms', address: '555-1234' });
      expect(bad.status).toBe(400);
      expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'address' })]);
      expect((await tenant.admin('DELETE', `/v1/suppressions/${added.body.id}`)).status).toBe(204);
      expect((await tenant.admin('DELETE', `/v1/suppressions/${added.body.id}`)).status).toBe(404);
      const other = await createTenant(herald.url);
      expect((await other.admin('GET', '/v1/suppressions')).body.items).toEqual([]);
    });

    it("blocks an address until the entry's expiresAt, and not after (the stored expiry moved, not waited for)", async () => {
      const address = 'paused@example.com';
      const to = { subscriberId: 'x1', email: address };
      const inAnHour = new Date(Date.now() + 3600_000).toISOString();
      const added = await tenant.admin('POST', '/v1/suppressions', {
        channel: 'email',
        address,
        detail: 'paused for an hour',
        expiresAt: inAnHour,
      });
      expect(added.status).toBe(201);
      expect(new Date(added.body.expiresAt).getTime()).toBe(new Date(inAnHour).getTime());
      await expectSuppressedNext('fb.email', to, emailsTo(address));

      // The hour is over: as far as Postgres knows, the entry expired a second ago.
      const { rowCount } = await pool.query(
        `UPDATE suppressions SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [added.body.id],
      );
      expect(rowCount).toBe(1);
      const sent = await deliver('fb.email', to, 'sent');
      expect(sent.lastError).toBeUndefined();
      expect(emailsTo(address)()).toBe(1);
    });
  });
});
