import { generateKeyPairSync } from 'node:crypto';
import { SendgridSigner } from '@herald/sandbox';
import {
  SENDGRID_SIGNATURE_HEADER,
  SENDGRID_TIMESTAMP_HEADER,
  sendgridSignals,
  verifySendgridSignature,
} from './sendgrid-events';

const rejected = (status: 400 | 401, message: RegExp) =>
  expect.objectContaining({ name: 'FeedbackRejected', status, message: expect.stringMatching(message) });

describe('verifySendgridSignature', () => {
  const NOW = new Date('2026-03-01T12:00:00Z');
  const NOW_SECONDS = NOW.getTime() / 1000;
  const BODY = '[{"email":"a@example.com","event":"bounce","type":"bounce","sg_message_id":"abc.filter0001"}]\r\n';
  let signer: SendgridSigner;

  beforeAll(() => {
    signer = new SendgridSigner();
  });

  function check(payload: string | Buffer, headers: Record<string, string | undefined>, publicKey = signer.publicKey) {
    verifySendgridSignature(
      publicKey,
      payload,
      headers[SENDGRID_SIGNATURE_HEADER],
      headers[SENDGRID_TIMESTAMP_HEADER],
      NOW,
    );
  }

  it('accepts the body SendGrid signed, as a string or as bytes', () => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    expect(() => check(BODY, headers)).not.toThrow();
    expect(() => check(Buffer.from(BODY), headers)).not.toThrow();
  });

  it('accepts the verification key as a PEM too', () => {
    const pem = `-----BEGIN PUBLIC KEY-----\n${signer.publicKey}\n-----END PUBLIC KEY-----\n`;
    expect(() => check(BODY, signer.sign(BODY, NOW_SECONDS).headers, pem)).not.toThrow();
  });

  it('accepts timestamps up to 5 minutes either side of now', () => {
    expect(() => check(BODY, signer.sign(BODY, NOW_SECONDS - 300).headers)).not.toThrow();
    expect(() => check(BODY, signer.sign(BODY, NOW_SECONDS + 300).headers)).not.toThrow();
  });

  it('rejects a tampered body with a 401', () => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    expect(() => check(BODY.replace('bounce', 'delivered'), headers)).toThrow(rejected(401, /does not match/));
    expect(() => check(BODY.trimEnd(), headers)).toThrow(rejected(401, /does not match/));
  });

  it('rejects a signature replayed with another timestamp with a 401', () => {
    const { headers } = signer.sign(BODY, NOW_SECONDS - 10);
    expect(() => check(BODY, { ...headers, [SENDGRID_TIMESTAMP_HEADER]: String(NOW_SECONDS) })).toThrow(
      rejected(401, /does not match/),
    );
  });

  it.each([
    ['more than 5 minutes old', -301],
    ['more than 5 minutes ahead', 301],
  ])('rejects a timestamp %s with a 401', (_, offset) => {
    expect(() => check(BODY, signer.sign(BODY, NOW_SECONDS + offset).headers)).toThrow(rejected(401, /^stale/));
  });

  it('rejects a timestamp that is not unix seconds with a 401', () => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    expect(() => check(BODY, { ...headers, [SENDGRID_TIMESTAMP_HEADER]: '2026-03-01T12:00:00Z' })).toThrow(
      rejected(401, /unix seconds/),
    );
  });

  it('rejects a body signed with another key with a 401', () => {
    expect(() => check(BODY, new SendgridSigner().sign(BODY, NOW_SECONDS).headers)).toThrow(
      rejected(401, /does not match/),
    );
  });

  it.each(['bm90IGEgc2lnbmF0dXJl', '!!!', 'MEUCIQ=='])('rejects a malformed signature %p with a 401', (signature) => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    expect(() => check(BODY, { ...headers, [SENDGRID_SIGNATURE_HEADER]: signature })).toThrow(
      rejected(401, /does not match/),
    );
  });

  it.each([SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER])('rejects a request without %s with a 400', (name) => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    expect(() => check(BODY, { ...headers, [name]: undefined })).toThrow(rejected(400, new RegExp(`missing ${name}`)));
    expect(() => check(BODY, { ...headers, [name]: '' })).toThrow(rejected(400, new RegExp(`missing ${name}`)));
  });

  it('fails with a plain error, not a rejection, when the configured key is unusable', () => {
    const { headers } = signer.sign(BODY, NOW_SECONDS);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(() => check(BODY, headers, 'not a key')).toThrow(/neither base64 DER nor PEM/);
    expect(() => check(BODY, headers, rsa)).toThrow(/not an ECDSA P-256 public key/);
    expect(() => check(BODY, headers, rsa)).not.toThrow(expect.objectContaining({ name: 'FeedbackRejected' }));
  });
});

describe('sendgridSignals', () => {
  const base = {
    email: 'Alice@Example.com',
    timestamp: 1772366400,
    sg_event_id: 'evt',
    sg_message_id: 'msg-1.filter0001.16648.5515E0B88.0',
  };

  it.each([
    [
      'bounce (type bounce)',
      { event: 'bounce', type: 'bounce', status: '5.1.1', reason: '550 user unknown' },
      { kind: 'bounce', permanent: true, reason: 'bounce: 5.1.1 550 user unknown' },
    ],
    ['bounce without a type', { event: 'bounce' }, { kind: 'bounce', permanent: true, reason: 'bounce' }],
    [
      'bounce (type blocked)',
      { event: 'bounce', type: 'blocked', status: '4.0.0', reason: 'IP blocklisted' },
      { kind: 'note', permanent: false, reason: 'blocked: 4.0.0 IP blocklisted' },
    ],
    [
      'dropped: Bounced Address',
      { event: 'dropped', reason: 'Bounced Address' },
      { kind: 'bounce', permanent: true, reason: 'dropped: Bounced Address' },
    ],
    [
      'dropped: Unsubscribed Address',
      { event: 'dropped', reason: 'Unsubscribed Address' },
      { kind: 'note', permanent: false, reason: 'dropped: Unsubscribed Address' },
    ],
    ['dropped without a reason', { event: 'dropped' }, { kind: 'note', permanent: false, reason: 'dropped' }],
    ['spamreport', { event: 'spamreport' }, { kind: 'complaint', permanent: true, reason: 'spam report' }],
    ['blocked', { event: 'blocked', reason: 'policy' }, { kind: 'note', permanent: false, reason: 'blocked: policy' }],
    [
      'delivered',
      { event: 'delivered', response: '250 OK' },
      { kind: 'delivered', permanent: false, reason: '250 OK' },
    ],
    [
      'delivered without a response',
      { event: 'delivered' },
      { kind: 'delivered', permanent: false, reason: 'delivered' },
    ],
  ])('maps %s', (_, event, expected) => {
    expect(sendgridSignals([{ ...base, ...event }])).toEqual([
      {
        ...expected,
        channel: 'email',
        address: 'Alice@Example.com',
        providerMessageId: 'msg-1',
        eventId: 'evt',
        source: 'sendgrid',
      },
    ]);
  });

  it.each(['processed', 'deferred', 'open', 'click', 'unsubscribe', 'group_unsubscribe', 'something_new'])(
    'ignores %s events',
    (event) => {
      expect(sendgridSignals([{ ...base, event }])).toEqual([]);
    },
  );

  it('ignores unmapped events even without an email', () => {
    expect(sendgridSignals([{ event: 'account_status_change', type: 'compliance_suspend' }])).toEqual([]);
  });

  it('maps every event of a batch, in order', () => {
    const signals = sendgridSignals([
      { ...base, event: 'processed' },
      { ...base, event: 'delivered', email: 'a@example.com' },
      { ...base, event: 'spamreport', email: 'b@example.com' },
    ]);
    expect(signals.map(({ kind, address }) => [kind, address])).toEqual([
      ['delivered', 'a@example.com'],
      ['complaint', 'b@example.com'],
    ]);
  });

  it('links back with herald_delivery_id when the send carried it as a custom arg', () => {
    const [signal] = sendgridSignals([{ ...base, event: 'delivered', herald_delivery_id: 'dlv_42' }]);
    expect(signal).toMatchObject({ deliveryId: 'dlv_42', providerMessageId: 'msg-1' });
  });

  it('keeps an sg_message_id without a filter suffix whole, and gives none when there is none', () => {
    const [plain] = sendgridSignals([{ ...base, event: 'delivered', sg_message_id: 'msg-2' }]);
    const [absent] = sendgridSignals([{ event: 'delivered', email: 'a@example.com' }]);
    expect(plain.providerMessageId).toBe('msg-2');
    expect(absent.providerMessageId).toBeUndefined();
  });

  it.each([
    ['a body that is not an array', { event: 'bounce', email: 'a@example.com' }, /^SendGrid events: /],
    ['an event that is not an object', ['bounce'], /^SendGrid events: \[0\]: /],
    ['an event without event', [{ email: 'a@example.com' }], /^SendGrid events: \[0\]\.event: /],
    [
      'a mapped event without email',
      [{ ...base, event: 'delivered' }, { event: 'bounce' }],
      /^SendGrid events: \[1\]\.email: required/,
    ],
    [
      'an sg_message_id that is not a string',
      [{ ...base, event: 'bounce', sg_message_id: 42 }],
      /\[0\]\.sg_message_id: /,
    ],
  ])('rejects %s with a 400 naming the field', (_, body, message) => {
    expect(() => sendgridSignals(body)).toThrow(rejected(400, message));
  });
});
