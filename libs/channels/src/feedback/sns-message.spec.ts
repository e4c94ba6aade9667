import { SnsSigner } from '@herald/sandbox';
import {
  parseSnsMessage,
  sesSignals,
  snsStringToSign,
  SnsVerifier,
  type SnsMessage,
  type UnsignedSnsMessage,
} from './sns-message';

const rejected = (status: 400 | 401, message: RegExp) =>
  expect.objectContaining({ name: 'FeedbackRejected', status, message: expect.stringMatching(message) });

const NOTIFICATION = {
  Type: 'Notification',
  MessageId: '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
  TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
  Subject: 'My First Message',
  Message: 'Hello world!',
  Timestamp: '2012-05-02T00:54:06.655Z',
  SignatureVersion: '1',
  Signature: 'EXAMPLEw6JRN…',
  SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
  UnsubscribeURL:
    'https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-west-2:123456789012:MyTopic:c9135db0',
} as const;

const CONFIRMATION = {
  Type: 'SubscriptionConfirmation',
  MessageId: '165545c9-2a5c-472c-8df2-7ff2be2b3b1b',
  Token: '2336412f37',
  TopicArn: 'arn:aws:sns:us-west-2:123456789012:MyTopic',
  Message: 'You have chosen to subscribe to the topic arn:aws:sns:us-west-2:123456789012:MyTopic.',
  SubscribeURL:
    'https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:123456789012:MyTopic&Token=2336412f37',
  Timestamp: '2012-04-26T20:45:04.751Z',
  SignatureVersion: '1',
  Signature:
    'EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=',
  SigningCertURL: 'https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem',
} as const;

describe('parseSnsMessage', () => {
  it('reads a Notification and a SubscriptionConfirmation as AWS documents them', () => {
    expect(parseSnsMessage(NOTIFICATION)).toEqual(NOTIFICATION);
    expect(parseSnsMessage(CONFIRMATION)).toEqual(CONFIRMATION);
  });

  it.each([
    ['a body that is not an object', 'Type=Notification', /^SNS message: /],
    ['an unknown Type', { ...NOTIFICATION, Type: 'Unsubscribe' }, /^SNS message: Type: /],
    ['a missing Signature', { ...NOTIFICATION, Signature: undefined }, /^SNS message: Signature: /],
    ['an unknown SignatureVersion', { ...NOTIFICATION, SignatureVersion: '3' }, /^SNS message: SignatureVersion: /],
    ['a Timestamp that is not ISO 8601', { ...NOTIFICATION, Timestamp: 'yesterday' }, /^SNS message: Timestamp: /],
    ['a confirmation without Token', { ...CONFIRMATION, Token: undefined }, /^SNS message: Token: required/],
    ['a confirmation without SubscribeURL', { ...CONFIRMATION, SubscribeURL: undefined }, /SubscribeURL: required/],
  ])('rejects %s with a 400 naming the field', (_, body, message) => {
    expect(() => parseSnsMessage(body)).toThrow(rejected(400, message));
  });
});

describe('snsStringToSign', () => {
  it('is Key\\nvalue\\n for Message, MessageId, Subject, Timestamp, TopicArn, Type of a Notification', () => {
    expect(snsStringToSign(NOTIFICATION)).toBe(
      'Message\nHello world!\n' +
        'MessageId\n22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324\n' +
        'Subject\nMy First Message\n' +
        'Timestamp\n2012-05-02T00:54:06.655Z\n' +
        'TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n' +
        'Type\nNotification\n',
    );
  });

  it('leaves Subject out when the Notification has none', () => {
    const { Subject: _, ...withoutSubject } = NOTIFICATION;
    expect(snsStringToSign(withoutSubject)).not.toContain('Subject');
  });

  it('signs SubscribeURL and Token of a confirmation, and not its other fields', () => {
    expect(snsStringToSign(CONFIRMATION)).toBe(
      `Message\n${CONFIRMATION.Message}\n` +
        'MessageId\n165545c9-2a5c-472c-8df2-7ff2be2b3b1b\n' +
        `SubscribeURL\n${CONFIRMATION.SubscribeURL}\n` +
        'Timestamp\n2012-04-26T20:45:04.751Z\n' +
        'Token\n2336412f37\n' +
        'TopicArn\narn:aws:sns:us-west-2:123456789012:MyTopic\n' +
        'Type\nSubscriptionConfirmation\n',
    );
  });
});

describe('SnsVerifier', () => {
  let signer: SnsSigner;
  let other: SnsSigner;

  beforeAll(() => {
    signer = SnsSigner.create('eu-west-1');
    other = SnsSigner.create('eu-west-1');
  });

  /** A fetcher that serves both signers' certificates at their URLs. */
  function certificateServer() {
    return jest.fn(async (url: string) => {
      const pem = { [signer.certUrl]: signer.certificatePem, [other.certUrl]: other.certificatePem }[url];
      if (pem === undefined) throw new Error(`404 ${url}`);
      return pem;
    });
  }

  function unsigned(overrides: Partial<UnsignedSnsMessage> = {}): UnsignedSnsMessage {
    return {
      Type: 'Notification',
      MessageId: 'd9b1c1f4-0c2e-4b59-9d3e-6a1f0b3c7e21',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:herald-ses-feedback',
      Message: '{"notificationType":"Bounce"}',
      Timestamp: new Date().toISOString(),
      ...overrides,
    };
  }

  function notification(overrides: Partial<UnsignedSnsMessage> = {}, version: '1' | '2' = '2'): SnsMessage {
    return signer.sign(unsigned(overrides), version);
  }

  it.each(['1', '2'] as const)('accepts SignatureVersion %s', async (version) => {
    const message = notification({ Subject: 'Amazon SES Email Event Notification' }, version);
    expect(message.SignatureVersion).toBe(version);
    await expect(new SnsVerifier({ fetchCertificate: certificateServer() }).verify(message)).resolves.toBeUndefined();
  });

  it('accepts a signed SubscriptionConfirmation', async () => {
    const message = signer.sign({
      Type: 'SubscriptionConfirmation',
      MessageId: 'c5e1b1f4-0c2e-4b59-9d3e-6a1f0b3c7e21',
      TopicArn: 'arn:aws:sns:eu-west-1:123456789012:herald-ses-feedback',
      Message: 'You have chosen to subscribe.',
      SubscribeURL: 'https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=abc',
      Token: 'abc',
      Timestamp: new Date().toISOString(),
    });
    await expect(new SnsVerifier({ fetchCertificate: certificateServer() }).verify(message)).resolves.toBeUndefined();
  });

  it.each([
    ['Message', { Message: '{"notificationType":"Complaint"}' }],
    ['Subject, added', { Subject: 'hello' }],
    ['TopicArn', { TopicArn: 'arn:aws:sns:eu-west-1:123456789012:other' }],
    ['Type', { Type: 'UnsubscribeConfirmation', SubscribeURL: 'https://x', Token: 't' }],
  ] as const)('rejects a message whose %s was changed after signing with a 401', async (_, change) => {
    const tampered = { ...notification(), ...change };
    await expect(new SnsVerifier({ fetchCertificate: certificateServer() }).verify(tampered)).rejects.toEqual(
      rejected(401, /signature does not match/),
    );
  });

  it('rejects a v2 signature presented as v1', async () => {
    const message = { ...notification({}, '2'), SignatureVersion: '1' as const };
    await expect(new SnsVerifier({ fetchCertificate: certificateServer() }).verify(message)).rejects.toEqual(
      rejected(401, /signature/),
    );
  });

  it("rejects a message signed with another key than the certificate's", async () => {
    const verifier = new SnsVerifier({ fetchCertificate: certificateServer() });
    const pointedElsewhere = { ...notification(), SigningCertURL: other.certUrl };
    await expect(verifier.verify(pointedElsewhere)).rejects.toEqual(rejected(401, /signature does not match/));
    const trustedElsewhere = new SnsVerifier({ trustedCertificates: { [signer.certUrl]: other.certificatePem } });
    await expect(trustedElsewhere.verify(notification())).rejects.toEqual(rejected(401, /signature does not match/));
  });

  it.each(['', 'bm90IGEgc2lnbmF0dXJl', '!!!'])('rejects a malformed Signature %p with a 401', async (signature) => {
    const message = { ...notification(), Signature: signature };
    await expect(new SnsVerifier({ fetchCertificate: certificateServer() }).verify(message)).rejects.toEqual(
      rejected(401, /signature does not match/),
    );
  });

  it.each([
    'https://evil.example.com/x.pem',
    'http://sns.us-east-1.amazonaws.com/x.pem',
    'https://sns.us-east-1.amazonaws.com.evil.com/x.pem',
    'https://sns.us-east-1.amazonaws.com/x.txt',
    'https://sns.us-east-1.amazonaws.com:8443/x.pem',
    'https://evil.com/sns.us-east-1.amazonaws.com/x.pem',
    'https://sns.us_east.amazonaws.com/x.pem',
    'not a url',
  ])('refuses SigningCertURL %s without fetching it', async (url) => {
    const fetchCertificate = jest.fn(async () => signer.certificatePem);
    const message = { ...notification(), SigningCertURL: url };
    await expect(new SnsVerifier({ fetchCertificate }).verify(message)).rejects.toEqual(
      rejected(401, /SigningCertURL is not an Amazon SNS certificate/),
    );
    expect(fetchCertificate).not.toHaveBeenCalled();
  });

  it.each([
    'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-x.pem',
    'https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-x.pem',
  ])('fetches certificates from SNS hosts such as %s', async (url) => {
    const fetchCertificate = jest.fn(async () => signer.certificatePem);
    await new SnsVerifier({ fetchCertificate }).verify({ ...notification(), SigningCertURL: url });
    expect(fetchCertificate).toHaveBeenCalledWith(url);
  });

  it('believes a trusted certificate whatever its URL, without fetching', async () => {
    const fetchCertificate = jest.fn(async () => signer.certificatePem);
    const url = 'http://127.0.0.1:4566/sandbox.pem';
    const verifier = new SnsVerifier({ fetchCertificate, trustedCertificates: { [url]: signer.certificatePem } });
    await expect(verifier.verify({ ...notification(), SigningCertURL: url })).resolves.toBeUndefined();
    expect(fetchCertificate).not.toHaveBeenCalled();
  });

  it('rejects a message published more than an hour ago as stale', async () => {
    const now = new Date('2026-03-01T12:00:00Z');
    const verifier = new SnsVerifier({ fetchCertificate: certificateServer(), now: () => now });
    await expect(verifier.verify(notification({ Timestamp: '2026-03-01T11:00:00.000Z' }))).resolves.toBeUndefined();
    await expect(verifier.verify(notification({ Timestamp: '2026-03-01T10:59:59.999Z' }))).rejects.toEqual(
      rejected(401, /^stale/),
    );
  });

  it('fetches a certificate once for many messages', async () => {
    const fetchCertificate = certificateServer();
    const verifier = new SnsVerifier({ fetchCertificate });
    await verifier.verify(notification());
    await verifier.verify(notification({ MessageId: 'second' }));
    await Promise.all([verifier.verify(other.sign(unsigned())), verifier.verify(other.sign(unsigned()))]);
    expect(fetchCertificate.mock.calls).toEqual([[signer.certUrl], [other.certUrl]]);
  });

  it('keeps at most 100 certificates, forgetting the oldest', async () => {
    const fetchCertificate = jest.fn(async () => signer.certificatePem);
    const verifier = new SnsVerifier({ fetchCertificate });
    const urls = Array.from({ length: 101 }, (_, i) => `https://sns.eu-west-1.amazonaws.com/cert-${i}.pem`);
    for (const url of urls) await verifier.verify({ ...notification(), SigningCertURL: url });
    await verifier.verify({ ...notification(), SigningCertURL: urls[100] });
    expect(fetchCertificate).toHaveBeenCalledTimes(101);
    await verifier.verify({ ...notification(), SigningCertURL: urls[0] });
    expect(fetchCertificate).toHaveBeenCalledTimes(102);
  });

  it('fails with a plain error when the certificate cannot be had, and tries again next time', async () => {
    const fetchCertificate = jest
      .fn<Promise<string>, [string]>()
      .mockRejectedValueOnce(new Error('connect ETIMEDOUT'))
      .mockResolvedValueOnce('<html>not a certificate</html>')
      .mockResolvedValue(signer.certificatePem);
    const verifier = new SnsVerifier({ fetchCertificate });
    const failure = verifier.verify(notification());
    await expect(failure).rejects.toThrow('connect ETIMEDOUT');
    await expect(failure).rejects.not.toHaveProperty('status');
    await expect(verifier.verify(notification())).rejects.toThrow(/is not a PEM X.509 certificate/);
    await expect(verifier.verify(notification())).resolves.toBeUndefined();
    expect(fetchCertificate).toHaveBeenCalledTimes(3);
  });

  describe('by default', () => {
    afterEach(() => jest.restoreAllMocks());

    it('fetches the certificate with fetch, without following redirects, within 5 seconds', async () => {
      const fetch = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(signer.certificatePem));
      await new SnsVerifier().verify(notification());
      expect(fetch).toHaveBeenCalledWith(signer.certUrl, { redirect: 'error', signal: expect.any(AbortSignal) });
    });

    it('fails with a plain error when the certificate URL does not answer 200', async () => {
      jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('Not Found', { status: 404 }));
      await expect(new SnsVerifier().verify(notification())).rejects.toThrow(/answered HTTP 404/);
    });
  });
});

describe('sesSignals', () => {
  let signer: SnsSigner;

  beforeAll(() => {
    signer = SnsSigner.create();
  });

  it('gives one permanent bounce per recipient of a Permanent bounce', () => {
    const message = signer.sesBounce(['a@example.com', 'B@Example.com'], {
      messageId: '0100018c-ses-message-id',
      diagnosticCode: 'smtp; 550 5.1.1 user unknown',
    });
    expect(sesSignals(message)).toEqual([
      {
        kind: 'bounce',
        permanent: true,
        channel: 'email',
        address: 'a@example.com',
        providerMessageId: '0100018c-ses-message-id',
        reason: 'Permanent/General: smtp; 550 5.1.1 user unknown',
        source: 'ses',
      },
      expect.objectContaining({ kind: 'bounce', permanent: true, address: 'B@Example.com' }),
    ]);
  });

  it.each(['Transient', 'Undetermined'] as const)('gives a transient bounce for a %s bounce', (bounceType) => {
    const message = signer.sesBounce(['a@example.com'], { bounceType, bounceSubType: 'MailboxFull' });
    expect(sesSignals(message)).toEqual([
      expect.objectContaining({ kind: 'bounce', permanent: false, reason: `${bounceType}/MailboxFull` }),
    ]);
  });

  it('gives a complaint per complained recipient', () => {
    const message = signer.sesComplaint(['a@example.com'], { messageId: 'ses-1' });
    expect(sesSignals(message)).toEqual([
      {
        kind: 'complaint',
        permanent: true,
        channel: 'email',
        address: 'a@example.com',
        providerMessageId: 'ses-1',
        reason: 'Complaint: abuse',
        source: 'ses',
      },
    ]);
  });

  it('gives a delivered signal per delivered recipient', () => {
    const message = signer.sesDelivery(['a@example.com', 'b@example.com'], { messageId: 'ses-2' });
    expect(sesSignals(message)).toEqual([
      expect.objectContaining({
        kind: 'delivered',
        permanent: false,
        address: 'a@example.com',
        providerMessageId: 'ses-2',
      }),
      expect.objectContaining({ kind: 'delivered', address: 'b@example.com', reason: '250 2.6.0 Message received' }),
    ]);
  });

  it('reads event publishing notifications (eventType) the same way', () => {
    const published = sesMessage({
      eventType: 'Bounce',
      mail: { messageId: 'ses-3' },
      bounce: {
        bounceType: 'Permanent',
        bounceSubType: 'Suppressed',
        bouncedRecipients: [{ emailAddress: 'a@example.com' }],
      },
    });
    expect(sesSignals(published)).toEqual([
      expect.objectContaining({
        kind: 'bounce',
        permanent: true,
        providerMessageId: 'ses-3',
        reason: 'Permanent/Suppressed',
      }),
    ]);
  });

  it.each([
    ['a subscription confirmation', { ...CONFIRMATION }],
    ['a plain-text message', sesMessage('Successfully validated SNS topic for Amazon SES event publishing.')],
    ['a JSON array', sesMessage([1, 2])],
    ['another SES event', sesMessage({ eventType: 'Open', mail: { messageId: 'x' }, open: {} })],
    ['JSON that is not from SES', sesMessage({ hello: 'world' })],
  ])('gives nothing for %s', (_, message) => {
    expect(sesSignals(message as SnsMessage)).toEqual([]);
  });

  it('rejects an SES notification of a known type with a broken shape, naming the field', () => {
    const broken = sesMessage({
      notificationType: 'Bounce',
      mail: {},
      bounce: { bounceType: 'Permanent', bouncedRecipients: [{}] },
    });
    expect(() => sesSignals(broken)).toThrow(
      rejected(400, /^SES Bounce notification: bounce\.bouncedRecipients\[0\]\.emailAddress: /),
    );
  });
});

function sesMessage(content: unknown): SnsMessage {
  return { ...NOTIFICATION, Message: typeof content === 'string' ? content : JSON.stringify(content) };
}
