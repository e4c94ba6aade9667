import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import type { SendResult } from '@herald/channels';
import { SmsProvider } from '../../../libs/channels/src/sms/sms.provider';
import { SandboxRecorder } from '../../../libs/sandbox/src/recorder';
import { TwilioSandbox } from '../../../libs/sandbox/src/twilio';
import { eventually } from '../../helpers/http';

const STATUS_CALLBACK = 'https://herald.example/v1/feedback/twilio/status';
const delivery = { id: 'd1', tenantId: 't1', eventId: 'e1', attempt: 1 };

interface Callback {
  signature: string;
  params: Record<string, string>;
}

/** A local StatusCallback target that keeps what it received. */
async function callbackTarget(): Promise<{ url: string; received: Callback[]; close(): Promise<void> }> {
  const received: Callback[] = [];
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    received.push({
      signature: String(req.headers['x-twilio-signature'] ?? ''),
      params: Object.fromEntries(new URLSearchParams(body)),
    });
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/feedback/twilio/status?tenant=t1`;
  return {
    url,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('SMS through the real twilio SDK against the Twilio sandbox', () => {
  let sandbox: TwilioSandbox;
  let recorder: SandboxRecorder;
  let provider: SmsProvider;

  beforeAll(async () => {
    recorder = new SandboxRecorder();
    sandbox = await TwilioSandbox.start({ recorder });
    provider = new SmsProvider({
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      from: '+15005550006',
      apiBaseUrl: sandbox.url,
      statusCallbackUrl: STATUS_CALLBACK,
    });
  });
  afterEach(() => {
    sandbox.reset();
    recorder.clear();
  });
  afterAll(() => sandbox.stop());

  const send = (to: string, body = 'Your code is 123456'): Promise<SendResult> => provider.send(delivery, { to, body });

  it('accepts a message: SID back, body and StatusCallback recorded', async () => {
    const result = await send('+14155550100');

    expect(result).toEqual({ outcome: 'ok', providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
    const [message] = sandbox.messages();
    expect(message).toMatchObject({
      sid: result.providerMessageId,
      to: '+14155550100',
      from: '+15005550006',
      body: 'Your code is 123456',
      statusCallback: STATUS_CALLBACK,
      status: 'queued',
    });
    expect(recorder.list({ channel: 'sms' })).toEqual([
      expect.objectContaining({
        to: '+14155550100',
        summary: 'Your code is 123456',
        outcome: 'accepted',
        detail: expect.objectContaining({ sid: result.providerMessageId, statusCallback: STATUS_CALLBACK }),
      }),
    ]);
  });

  it('sends through a Messaging Service when configured with one', async () => {
    const viaService = new SmsProvider({
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      messagingServiceSid: 'MG' + '1'.repeat(32),
      apiBaseUrl: sandbox.url,
      statusCallbackUrl: STATUS_CALLBACK,
    });
    expect((await viaService.send(delivery, { to: '+14155550100', body: 'hi' })).outcome).toBe('ok');
    expect(sandbox.messages()[0]).toMatchObject({ from: null, messagingServiceSid: 'MG' + '1'.repeat(32) });
  });

  it.each([
    ['+15005550001', 'bad_address', '21211', /invalid/],
    ['+15005550004', 'bad_address', '21610', /opted out/],
    ['+15005550009', 'bad_address', '21614', /not a mobile/],
    ['+15005550002', 'bad_address', '21612', /route/],
    ['+15005550003', 'permanent', '21408', /region/],
  ])('%s → %s (%s)', async (to, outcome, code, message) => {
    expect(await send(to)).toEqual({ outcome, code, message: expect.stringMatching(message) });
    expect(sandbox.messages()).toEqual([]);
    expect(recorder.list({ channel: 'sms' })[0]).toMatchObject({ to, outcome: 'rejected', error: { code } });
  });

  it('429 → retryable, honouring Retry-After', async () => {
    expect(await send('+15005550429')).toEqual({
      outcome: 'retryable',
      code: '20429',
      message: 'Twilio HTTP 429: Too Many Requests',
      retryAfterMs: 1000,
    });
  });

  it('500 → retryable', async () => {
    expect(await send('+15005550500')).toMatchObject({ outcome: 'retryable', code: '20500' });
  });

  it('failNext injects provider errors for the next requests only', async () => {
    sandbox.failNext(1, { status: 503, code: 20503, message: 'Service Unavailable' });
    expect(await send('+14155550100')).toMatchObject({ outcome: 'retryable', code: '20503' });
    expect((await send('+14155550100')).outcome).toBe('ok');
  });

  it('wrong credentials → permanent (20003), without the token in the result', async () => {
    const wrong = new SmsProvider({
      accountSid: sandbox.accountSid,
      authToken: 'not-the-token',
      from: '+15005550006',
      apiBaseUrl: sandbox.url,
      statusCallbackUrl: STATUS_CALLBACK,
    });
    const result = await wrong.send(delivery, { to: '+14155550100', body: 'hi' });
    expect(result).toMatchObject({ outcome: 'permanent', code: '20003' });
    expect(JSON.stringify(result)).not.toContain('not-the-token');
    expect(recorder.list({ channel: 'sms' })[0]).toMatchObject({ outcome: 'rejected', error: { code: '20003' } });
  });

  it('connection refused → retryable', async () => {
    const closed = await TwilioSandbox.start();
    const url = closed.url;
    await closed.stop();
    const unreachable = new SmsProvider({
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      from: '+15005550006',
      apiBaseUrl: url,
      statusCallbackUrl: STATUS_CALLBACK,
    });
    expect(await unreachable.send(delivery, { to: '+14155550100', body: 'hi' })).toEqual({
      outcome: 'retryable',
      code: 'ECONNREFUSED',
      message: 'network error: ECONNREFUSED',
    });
  });

  it('refuses to start with both or neither of from / messagingServiceSid', () => {
    const base = { accountSid: sandbox.accountSid, authToken: sandbox.authToken, statusCallbackUrl: STATUS_CALLBACK };
    expect(() => new SmsProvider(base)).toThrow(/exactly one/);
    expect(() => new SmsProvider({ ...base, from: '+15005550006', messagingServiceSid: 'MG1' })).toThrow(/exactly one/);
  });

  describe('status callbacks', () => {
    let target: Awaited<ReturnType<typeof callbackTarget>>;
    let signed: SmsProvider;

    beforeAll(async () => {
      target = await callbackTarget();
      signed = new SmsProvider({
        accountSid: sandbox.accountSid,
        authToken: sandbox.authToken,
        from: '+15005550006',
        apiBaseUrl: sandbox.url,
        statusCallbackUrl: target.url,
      });
    });
    afterEach(() => {
      target.received.length = 0;
    });
    afterAll(() => target.close());

    it('are signed so that twilio.validateRequest accepts them', async () => {
      const { providerMessageId } = await signed.send(delivery, { to: '+14155550100', body: 'hi' });

      expect(await sandbox.sendStatusCallback(providerMessageId!, 'undelivered', { ErrorCode: '30005' })).toBe(204);

      const [callback] = target.received;
      expect(callback.params).toMatchObject({
        AccountSid: sandbox.accountSid,
        MessageSid: providerMessageId,
        MessageStatus: 'undelivered',
        ErrorCode: '30005',
        To: '+14155550100',
        From: '+15005550006',
      });
      expect(twilio.validateRequest(sandbox.authToken, callback.signature, target.url, callback.params)).toBe(true);
      expect(twilio.validateRequest('another-token', callback.signature, target.url, callback.params)).toBe(false);
      expect(sandbox.messages()[0].status).toBe('undelivered');
    });

    it("autoCallbacks fires 'sent' then 'delivered' after an accepted message", async () => {
      const auto = await TwilioSandbox.start({ autoCallbacks: true });
      try {
        const provider = new SmsProvider({
          accountSid: auto.accountSid,
          authToken: auto.authToken,
          from: '+15005550006',
          apiBaseUrl: auto.url,
          statusCallbackUrl: target.url,
        });
        const { providerMessageId } = await provider.send(delivery, { to: '+14155550100', body: 'hi' });
        const statuses = await eventually(async () =>
          target.received.length === 2 ? target.received.map((c) => c.params.MessageStatus) : undefined,
        );
        expect(statuses).toEqual(['sent', 'delivered']);
        expect(target.received.every((c) => c.params.MessageSid === providerMessageId)).toBe(true);
        expect(
          target.received.every((c) => twilio.validateRequest(auto.authToken, c.signature, target.url, c.params)),
        ).toBe(true);
      } finally {
        await auto.stop();
      }
    });
  });
});
