import { randomUUID } from 'node:crypto';
import type { OutboundDelivery } from '@herald/channels';
import { EmailProvider } from '../../channels/src/email/email.provider';
import { PushProvider } from '../../channels/src/push/push.provider';
import { SmsProvider } from '../../channels/src/sms/sms.provider';
import { WebhookProvider } from '../../channels/src/webhook/webhook.provider';
import { FaultInjector, LOST_ANSWER } from './faults';
import { FcmSandbox } from './fcm';
import type { SandboxRecord } from './recorder';
import { SmtpSandbox } from './smtp';
import { TWILIO_SANDBOX_FROM, TwilioSandbox } from './twilio';
import { WebhookReceiver } from './webhook';

describe('FaultInjector', () => {
  it('fails the share it is told to, by kind, and heals on clear()', () => {
    const faults = new FaultInjector();
    expect(faults.next()).toBeUndefined();
    faults.set({ errorRate: 1, timeoutRate: 0 });
    expect(faults.next()).toEqual({ kind: 'error' });
    faults.set({ errorRate: 0, timeoutRate: 1, timeoutMs: 50 });
    expect(faults.next()).toEqual({ kind: 'timeout', ms: 50 });
    faults.set({ timeoutRate: 0, lostAnswerRate: 1 });
    expect(faults.next()).toEqual({ kind: 'lostAnswer', ms: 50 });
    faults.clear();
    expect(faults.next()).toBeUndefined();
    expect(faults.injected).toEqual({ error: 1, timeout: 1, lostAnswer: 1 });
  });

  it('starts each window with one fault of every kind it has a rate for, then draws at random', () => {
    const faults = new FaultInjector();
    faults.set({ errorRate: 0.001, timeoutRate: 0, lostAnswerRate: 0.001, timeoutMs: 50 });
    const firsts = [faults.next(), faults.next()];
    expect(firsts).toEqual([{ kind: 'error' }, { kind: 'lostAnswer', ms: 50 }]);
    const drawn = Array.from({ length: 200 }, () => faults.next()).filter(Boolean);
    expect(drawn.length).toBeLessThan(20);
    faults.clear();
    faults.set({ errorRate: 0.001 });
    expect(faults.next()).toEqual({ kind: 'error' });
  });

  it('refuses rates that are not shares', () => {
    const faults = new FaultInjector();
    expect(() => faults.set({ errorRate: 1.5 })).toThrow(RangeError);
    expect(() => faults.set({ errorRate: 0.6, timeoutRate: 0.6 })).toThrow(RangeError);
    expect(() => faults.set({ errorRate: 0.4, timeoutRate: 0.3, lostAnswerRate: 0.4 })).toThrow(RangeError);
  });

  it('a faulty webhook receiver answers 503 or nothing, and records neither as accepted', async () => {
    const receiver = await WebhookReceiver.start();
    try {
      receiver.faults.set({ errorRate: 1 });
      expect((await fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).status).toBe(503);
      receiver.faults.set({ errorRate: 0, timeoutRate: 1, timeoutMs: 100 });
      await expect(fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).rejects.toThrow();
      receiver.faults.clear();
      expect((await fetch(receiver.urlFor('/x'), { method: 'POST', body: '{}' })).status).toBe(200);
      expect(receiver.recorder.list().map((r) => r.outcome)).toEqual(['accepted', 'rejected', 'rejected']);
      expect(receiver.requests()).toHaveLength(1);
    } finally {
      await receiver.stop();
    }
  });
});

// A lost answer through Herald's own provider adapters (the clients the chaos suite's workers use):
// the sandbox keeps the message, the sender sees a failure it retries. Each client gives up well
// before the sandbox would answer (HOLD_MS), so nothing here races a clock.
describe('a sandbox that takes the message and loses the answer', () => {
  const HOLD_MS = 30_000;
  const delivery = (): OutboundDelivery => ({ id: randomUUID(), tenantId: 't1', eventId: randomUUID(), attempt: 1 });
  const lost = (records: SandboxRecord[]) =>
    records.map((r) => ({ outcome: r.outcome, lost: r.detail.fault === LOST_ANSWER }));

  it('SMTP: the message is recorded as accepted, the client times out and calls it retryable', async () => {
    const sandbox = await SmtpSandbox.start();
    const provider = new EmailProvider({ smtpUrl: `${sandbox.url}/?socketTimeout=1000`, from: 'h@herald.test' });
    try {
      sandbox.faults.set({ lostAnswerRate: 1, timeoutMs: HOLD_MS });
      const result = await provider.send(delivery(), { to: 'ada@example.com', subject: 'lost', html: '<p>x</p>' });
      expect(result.outcome).toBe('retryable');
      expect(lost(sandbox.messages())).toEqual([{ outcome: 'accepted', lost: true }]);
      expect(sandbox.faults.injected.lostAnswer).toBe(1);
    } finally {
      await provider.close();
      await sandbox.stop();
    }
  });

  it('Twilio: the message is kept, the connection is cut, the SDK error is retryable', async () => {
    const sandbox = await TwilioSandbox.start();
    const provider = new SmsProvider({
      accountSid: sandbox.accountSid,
      authToken: sandbox.authToken,
      from: TWILIO_SANDBOX_FROM,
      apiBaseUrl: sandbox.url,
      statusCallbackUrl: 'http://127.0.0.1:9/callback',
    });
    try {
      // The SDK has no timeout of its own: the cut after the hold is what it sees.
      sandbox.faults.set({ lostAnswerRate: 1, timeoutMs: 200 });
      const result = await provider.send(delivery(), { to: '+14155552671', body: 'lost' });
      expect(result.outcome).toBe('retryable');
      expect(sandbox.messages().map((m) => m.body)).toEqual(['lost']);
      expect(lost(sandbox.recorder.list())).toEqual([{ outcome: 'accepted', lost: true }]);
    } finally {
      await sandbox.stop();
    }
  });

  it('FCM: the message is kept, and firebase-admin sends it again by itself (a duplicate within one call)', async () => {
    const sandbox = await FcmSandbox.start();
    const provider = new PushProvider({ projectId: sandbox.projectId, apiBaseUrl: sandbox.url });
    try {
      sandbox.faults.set({ lostAnswerRate: 1, timeoutMs: 200 });
      // the first copy is taken and its answer lost; the SDK's own retry (ECONNRESET) is answered
      sandbox.recorder.once('record', () => sandbox.faults.clear());
      const result = await provider.send(delivery(), { tokens: ['device-1'], title: 'lost', body: 'x' });
      expect(result.outcome).toBe('ok');
      expect(lost(sandbox.messages()).reverse()).toEqual([
        { outcome: 'accepted', lost: true },
        { outcome: 'accepted', lost: false },
      ]);
    } finally {
      await provider.close();
      await sandbox.stop();
    }
  });

  it('webhook: the request is recorded as accepted (200), the sender times out and calls it retryable', async () => {
    const receiver = await WebhookReceiver.start();
    const provider = new WebhookProvider({ allowPrivateNetworks: true, timeoutMs: 1000 });
    try {
      receiver.faults.set({ lostAnswerRate: 1, timeoutMs: HOLD_MS });
      const result = await provider.send(delivery(), {
        url: receiver.urlFor('/hook'),
        secret: `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`,
        payload: '{"type":"lost"}',
      });
      expect(result.outcome).toBe('retryable');
      expect(receiver.requests().map((r) => r.status)).toEqual([200]);
      expect(lost(receiver.recorder.list())).toEqual([{ outcome: 'accepted', lost: true }]);
    } finally {
      await provider.close();
      await receiver.stop();
    }
  });
});
