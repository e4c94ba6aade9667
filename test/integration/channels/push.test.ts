import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PushProvider } from '../../../libs/channels/src/push/push.provider';
import type { OutboundDelivery } from '@herald/channels';
import { FcmSandbox } from '../../../libs/sandbox/src/fcm';

const delivery: OutboundDelivery = { id: 'd1', tenantId: 't1', eventId: 'e1', attempt: 1 };
const push = (...tokens: string[]) => ({
  tokens,
  title: 'Your order shipped',
  body: 'It is on its way',
  data: { orderId: '42' },
});

describe('push through firebase-admin against the FCM sandbox', () => {
  let fcm: FcmSandbox;
  let provider: PushProvider;
  const providers: PushProvider[] = [];
  const track = (p: PushProvider) => (providers.push(p), p);

  beforeAll(async () => {
    fcm = await FcmSandbox.start();
    provider = track(new PushProvider({ projectId: fcm.projectId, apiBaseUrl: fcm.url }));
  });
  afterEach(() => fcm.reset());
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close()));
    await fcm.stop();
  });

  it('sends to one token and keeps the message name FCM gave', async () => {
    const result = await provider.send(delivery, push('device-a'));

    const [record] = fcm.messages();
    expect(record).toMatchObject({
      channel: 'push',
      to: 'device-a',
      summary: 'Your order shipped',
      outcome: 'accepted',
      detail: { notification: { title: 'Your order shipped', body: 'It is on its way' }, data: { orderId: '42' } },
    });
    expect(record.detail.name).toMatch(new RegExp(`^projects/${fcm.projectId}/messages/`));
    expect(result).toEqual({
      outcome: 'ok',
      providerMessageId: record.detail.name,
      targets: [{ target: 'device-a', outcome: 'ok', providerMessageId: record.detail.name }],
    });
  });

  it('is sent when one device of three takes it, with each token judged on its own', async () => {
    const result = await provider.send(delivery, push('unregistered-1', 'invalid-2', 'device-3'));

    expect(result).toMatchObject({ outcome: 'ok', message: '1 of 3 device tokens accepted' });
    expect(result.targets).toEqual([
      {
        target: 'unregistered-1',
        outcome: 'bad_address',
        code: 'messaging/registration-token-not-registered',
        message: 'Requested entity was not found.',
      },
      {
        target: 'invalid-2',
        outcome: 'bad_address',
        code: 'messaging/invalid-argument',
        message: 'The registration token is not a valid FCM registration token',
      },
      { target: 'device-3', outcome: 'ok', providerMessageId: expect.stringMatching(/^projects\//) },
    ]);
    expect(result.providerMessageId).toBe(result.targets?.[2].providerMessageId);
    expect(
      fcm
        .messages()
        .map((m) => [m.to, m.outcome])
        .sort(),
    ).toEqual([
      ['device-3', 'accepted'],
      ['invalid-2', 'rejected'],
      ['unregistered-1', 'rejected'],
    ]);
  });

  it('is a bad address only when every token is dead', async () => {
    const result = await provider.send(delivery, push('unregistered-1', 'invalid-2', 'mismatch-3'));

    expect(result).toMatchObject({ outcome: 'bad_address', code: 'messaging/registration-token-not-registered' });
    expect(result.targets?.map((t) => [t.outcome, t.code])).toEqual([
      ['bad_address', 'messaging/registration-token-not-registered'],
      ['bad_address', 'messaging/invalid-argument'],
      ['bad_address', 'messaging/mismatched-credential'],
    ]);
  });

  it('retries a whole delivery when any failure may pass, even next to dead tokens', async () => {
    const result = await provider.send(delivery, push('unregistered-1', 'internal-2'));

    expect(result).toMatchObject({ outcome: 'retryable', code: 'messaging/internal-error' });
    expect(result.targets?.map((t) => t.outcome)).toEqual(['bad_address', 'retryable']);
  });

  it('retries over quota, no sooner than FCM asks (the SDK hides Retry-After)', async () => {
    const result = await provider.send(delivery, push('quota-1'));

    expect(result).toMatchObject({
      outcome: 'retryable',
      code: 'messaging/message-rate-exceeded',
      retryAfterMs: 60_000,
    });
  });

  it('retries when FCM stays unavailable, after the SDK has retried it itself', async () => {
    const result = await provider.send(delivery, push('unavailable-1'));

    expect(result).toMatchObject({ outcome: 'retryable', code: 'messaging/server-unavailable' });
    // one try and four retries inside firebase-admin
    expect(fcm.messages()).toHaveLength(5);
  });

  it('rides out a single 503, which firebase-admin retries on its own', async () => {
    fcm.failNext(1, { status: 503, errorCode: 'UNAVAILABLE' });

    const result = await provider.send(delivery, push('device-a'));

    expect(result.outcome).toBe('ok');
    expect(fcm.messages().map((m) => m.outcome)).toEqual(['accepted', 'rejected']);
  });

  it('takes a token of another Firebase project as a dead address', async () => {
    const result = await provider.send(delivery, push('mismatch-1'));

    expect(result).toMatchObject({ outcome: 'bad_address', code: 'messaging/mismatched-credential' });
  });

  it.each([
    [{ status: 401 }, 'messaging/third-party-auth-error'],
    [
      { status: 400, errorCode: 'INVALID_ARGUMENT', message: 'Invalid value at message.data' },
      'messaging/invalid-argument',
    ],
  ])('fails for good on %j, without blaming the token', async (failure, code) => {
    fcm.failNext(1, failure);

    const result = await provider.send(delivery, push('device-a'));

    expect(result).toMatchObject({ outcome: 'permanent', code, targets: [{ outcome: 'permanent', code }] });
  });

  it('fails for good when the credential may not send for the project', async () => {
    const stranger = track(new PushProvider({ projectId: 'someone-else', apiBaseUrl: fcm.url }));

    const result = await stranger.send(delivery, push('device-a'));

    expect(result).toMatchObject({ outcome: 'permanent', code: 'messaging/mismatched-credential' });
    expect(fcm.messages()).toHaveLength(0);
  });

  it('signs in with a service-account key file through the OAuth token endpoint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'herald-fcm-'));
    try {
      const { privateKey } = generateKeyPairSync('rsa', {
        modulusLength: 2048,
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
        publicKeyEncoding: { type: 'spki', format: 'pem' },
      });
      const keyFile = join(dir, 'service-account.json');
      await writeFile(
        keyFile,
        JSON.stringify({
          type: 'service_account',
          project_id: fcm.projectId,
          client_email: `herald@${fcm.projectId}.iam.gserviceaccount.com`,
          private_key: privateKey,
        }),
      );
      const keyed = track(
        new PushProvider({ projectId: fcm.projectId, serviceAccountPath: keyFile, apiBaseUrl: fcm.url }),
      );

      const result = await keyed.send(delivery, push('device-a'));

      expect(result.outcome).toBe('ok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('retries when the FCM endpoint is down, whether or not a token was fetched before', async () => {
    const doomed = await FcmSandbox.start();
    const warm = track(new PushProvider({ projectId: doomed.projectId, apiBaseUrl: doomed.url }));
    expect((await warm.send(delivery, push('device-a'))).outcome).toBe('ok');
    await doomed.stop();
    const cold = track(new PushProvider({ projectId: doomed.projectId, apiBaseUrl: doomed.url }));

    const [afterToken, beforeToken] = await Promise.all([
      warm.send(delivery, push('device-a', 'device-b')),
      cold.send(delivery, push('device-a')),
    ]);

    expect(afterToken).toMatchObject({ outcome: 'retryable', code: 'app/network-error' });
    expect(afterToken.targets?.map((t) => t.outcome)).toEqual(['retryable', 'retryable']);
    // ECONNREFUSED, or UND_ERR_SOCKET when fetch reuses a connection the stopped sandbox had closed
    expect(beforeToken).toMatchObject({ outcome: 'retryable', code: 'app/invalid-credential' });
  });
});
