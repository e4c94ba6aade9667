import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { FeedbackRejected, parseFeedback, type FeedbackSignal } from './feedback-signal';

/**
 * Amazon SNS messages as SNS POSTs them to an HTTP(S) subscription, verified as
 * https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html describes,
 * and the SES bounce, complaint and delivery notifications they carry.
 */

const CONFIRMATION_TYPES = new Set(['SubscriptionConfirmation', 'UnsubscribeConfirmation']);

const snsMessageSchema = z
  .object({
    Type: z.enum(['Notification', 'SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    MessageId: z.string().min(1),
    TopicArn: z.string().min(1),
    Subject: z.string().optional(),
    Message: z.string(),
    Timestamp: z.iso.datetime({ offset: true }),
    SignatureVersion: z.enum(['1', '2']),
    Signature: z.string().min(1),
    SigningCertURL: z.string().min(1),
    UnsubscribeURL: z.string().optional(),
    SubscribeURL: z.string().optional(),
    Token: z.string().optional(),
  })
  .superRefine((message, context) => {
    if (!CONFIRMATION_TYPES.has(message.Type)) return;
    for (const key of ['SubscribeURL', 'Token'] as const) {
      if (!message[key]) context.addIssue({ code: 'custom', path: [key], message: `required for ${message.Type}` });
    }
  });

export type SnsMessage = z.infer<typeof snsMessageSchema>;
/** What SNS signs; the signature fields themselves are not part of it. */
export type UnsignedSnsMessage = Omit<SnsMessage, 'Signature' | 'SigningCertURL' | 'SignatureVersion'>;

export function parseSnsMessage(body: unknown): SnsMessage {
  return parseFeedback(snsMessageSchema, body, 'SNS message');
}

const SIGNED_KEYS = {
  Notification: ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'],
  SubscriptionConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
  UnsubscribeConfirmation: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'],
} as const;

/** "Key\nvalue\n" for each signed key in AWS's order; a Notification's Subject only when it has one. */
export function snsStringToSign(message: UnsignedSnsMessage): string {
  return SIGNED_KEYS[message.Type]
    .map((key) => (message[key] === undefined ? '' : `${key}\n${message[key]}\n`))
    .join('');
}

const MAX_AGE_MS = 60 * 60 * 1000;
const MAX_CACHED_CERTIFICATES = 100;
const FETCH_TIMEOUT_MS = 5000;
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;

export interface SnsVerifierOptions {
  fetchCertificate?: (url: string) => Promise<string>;
  /** certificate URL → PEM, accepted whatever the URL (for tests and the sandbox) */
  trustedCertificates?: Record<string, string>;
  now?: () => Date;
}

export class SnsVerifier {
  private readonly fetchCertificate: (url: string) => Promise<string>;
  private readonly trusted: Map<string, KeyObject>;
  private readonly now: () => Date;
  // AWS signs with a handful of certificates, so a small cache saves a fetch on nearly every message.
  private readonly fetched = new Map<string, Promise<KeyObject>>();

  constructor({
    fetchCertificate = fetchOverHttps,
    trustedCertificates = {},
    now = () => new Date(),
  }: SnsVerifierOptions = {}) {
    this.fetchCertificate = fetchCertificate;
    this.now = now;
    this.trusted = new Map(Object.entries(trustedCertificates).map(([url, pem]) => [url, publicKeyOf(pem, url)]));
  }

  /**
   * Resolves when SNS signed `message`; a forged, tampered or stale message is a FeedbackRejected(401).
   * Failing to fetch AWS's certificate is not the sender's fault and rejects with a plain Error.
   */
  async verify(message: SnsMessage): Promise<void> {
    const published = Date.parse(message.Timestamp);
    if (Number.isNaN(published) || this.now().getTime() - published > MAX_AGE_MS) {
      throw new FeedbackRejected(401, `stale SNS message: Timestamp ${message.Timestamp} is more than an hour old`);
    }
    const key = await this.signingKey(message.SigningCertURL);
    const algorithm = message.SignatureVersion === '1' ? 'sha1' : 'sha256';
    if (!signatureMatches(algorithm, snsStringToSign(message), key, message.Signature)) {
      throw new FeedbackRejected(401, 'SNS signature does not match the message');
    }
  }

  private signingKey(url: string): Promise<KeyObject> {
    const trusted = this.trusted.get(url);
    if (trusted) return Promise.resolve(trusted);
    // Anyone can sign with a certificate of their own: only AWS's SNS hosts are believed.
    if (!isSnsCertificateUrl(url)) {
      return Promise.reject(new FeedbackRejected(401, `SigningCertURL is not an Amazon SNS certificate: ${url}`));
    }
    const cached = this.fetched.get(url);
    if (cached) return cached;

    const loading = this.fetchCertificate(url).then((pem) => publicKeyOf(pem, url));
    // A failed fetch is forgotten, so the next message tries again.
    loading.catch(() => {
      if (this.fetched.get(url) === loading) this.fetched.delete(url);
    });
    if (this.fetched.size >= MAX_CACHED_CERTIFICATES) this.fetched.delete(this.fetched.keys().next().value!);
    this.fetched.set(url, loading);
    return loading;
  }
}

function isSnsCertificateUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return url.protocol === 'https:' && url.port === '' && SNS_HOST.test(url.hostname) && url.pathname.endsWith('.pem');
}

async function fetchOverHttps(url: string): Promise<string> {
  // No redirects: the host was checked, and a redirect would lead elsewhere.
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`fetching the SNS signing certificate ${url} answered HTTP ${response.status}`);
  return response.text();
}

function publicKeyOf(pem: string, url: string): KeyObject {
  try {
    return new X509Certificate(pem).publicKey;
  } catch (cause) {
    throw new Error(`the SNS signing certificate from ${url} is not a PEM X.509 certificate`, { cause });
  }
}

function signatureMatches(algorithm: string, signed: string, key: KeyObject, signature: string): boolean {
  try {
    return verify(algorithm, Buffer.from(signed, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    // OpenSSL throws rather than answering false for some malformed signatures.
    return false;
  }
}

// With "include original headers" on, SES echoes the headers Herald sent: the delivery id header
// links a signal to its delivery even though SES gives the message an id of its own.
const mailSchema = z.object({
  messageId: z.string().min(1).optional(),
  headers: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
type SesMail = z.infer<typeof mailSchema>;

const bounceSchema = z.object({
  mail: mailSchema,
  bounce: z.object({
    bounceType: z.string().min(1),
    bounceSubType: z.string().optional(),
    bouncedRecipients: z
      .array(z.object({ emailAddress: z.string().min(1), diagnosticCode: z.string().optional() }))
      .min(1),
  }),
});

const complaintSchema = z.object({
  mail: mailSchema,
  complaint: z.object({
    complaintFeedbackType: z.string().optional(),
    complainedRecipients: z.array(z.object({ emailAddress: z.string().min(1) })).min(1),
  }),
});

const deliverySchema = z.object({
  mail: mailSchema,
  delivery: z.object({ recipients: z.array(z.string().min(1)).min(1), smtpResponse: z.string().optional() }),
});

/**
 * The signals in an SES notification, sent either as an identity notification (`notificationType`) or
 * by event publishing (`eventType`). Other SNS messages and other SES events (Send, Open, …) give none.
 */
export function sesSignals(message: SnsMessage): FeedbackSignal[] {
  if (message.Type !== 'Notification') return [];
  const notification = jsonObject(message.Message);
  const type = notification?.notificationType ?? notification?.eventType;
  const what = `SES ${String(type)} notification`;

  if (type === 'Bounce') {
    const { mail, bounce } = parseFeedback(bounceSchema, notification, what);
    const kind = [bounce.bounceType, bounce.bounceSubType].filter(Boolean).join('/');
    return bounce.bouncedRecipients.map((recipient) => ({
      ...signal('bounce', recipient.emailAddress, mail),
      permanent: bounce.bounceType === 'Permanent',
      reason: recipient.diagnosticCode ? `${kind}: ${recipient.diagnosticCode}` : kind,
    }));
  }
  if (type === 'Complaint') {
    const { mail, complaint } = parseFeedback(complaintSchema, notification, what);
    const reason = complaint.complaintFeedbackType ? `Complaint: ${complaint.complaintFeedbackType}` : 'Complaint';
    return complaint.complainedRecipients.map((recipient) => ({
      ...signal('complaint', recipient.emailAddress, mail),
      permanent: true,
      reason,
    }));
  }
  if (type === 'Delivery') {
    const { mail, delivery } = parseFeedback(deliverySchema, notification, what);
    return delivery.recipients.map((address) => ({
      ...signal('delivered', address, mail),
      permanent: false,
      reason: delivery.smtpResponse ?? 'Delivered',
    }));
  }
  return [];
}

function signal(kind: 'bounce' | 'complaint' | 'delivered', address: string, mail: SesMail) {
  const deliveryId = mail.headers?.find((h) => h.name.toLowerCase() === 'x-herald-delivery-id')?.value;
  return { kind, channel: 'email', source: 'ses', address, providerMessageId: mail.messageId, deliveryId } as const;
}

/** The Message as a JSON object, or undefined: SES also publishes plain-text notes such as its setup test. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
