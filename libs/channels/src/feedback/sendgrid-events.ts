import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { FeedbackRejected, parseFeedback, type FeedbackSignal } from './feedback-signal';

/**
 * SendGrid's Event Webhook: the signed-payload check of
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 * and the mapping of its events to feedback signals.
 */

export const SENDGRID_SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const SENDGRID_TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

const TOLERANCE_SECONDS = 5 * 60;

/**
 * Throws unless `signature` (base64 DER ECDSA) is SendGrid's signature of `timestamp + payload`, made
 * within five minutes of `now`. `payload` must be the raw body, byte for byte. A missing header is a
 * FeedbackRejected(400), any other failure a FeedbackRejected(401); a `publicKey` that is not a P-256
 * key is a configuration error and throws a plain Error.
 */
export function verifySendgridSignature(
  publicKey: string,
  payload: string | Buffer,
  signature: string | undefined,
  timestamp: string | undefined,
  now = new Date(),
): void {
  if (!signature) throw new FeedbackRejected(400, `missing ${SENDGRID_SIGNATURE_HEADER} header`);
  if (!timestamp) throw new FeedbackRejected(400, `missing ${SENDGRID_TIMESTAMP_HEADER} header`);
  if (!/^\d{1,12}$/.test(timestamp)) throw new FeedbackRejected(401, 'SendGrid timestamp is not unix seconds');
  if (Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp)) > TOLERANCE_SECONDS) {
    throw new FeedbackRejected(401, 'stale SendGrid event: timestamp is more than 5 minutes from now');
  }

  const key = verificationKey(publicKey);
  const signed = Buffer.concat([Buffer.from(timestamp, 'utf8'), Buffer.from(payload)]);
  let valid = false;
  try {
    valid = verify('sha256', signed, { key, dsaEncoding: 'der' }, b64(signature));
  } catch {
    // OpenSSL throws rather than answering false for some malformed signatures.
  }
  if (!valid) throw new FeedbackRejected(401, 'SendGrid signature does not match the payload');
}

/** SendGrid shows the key as base64 DER (SPKI) without PEM armour; a PEM is accepted too. */
function verificationKey(publicKey: string): KeyObject {
  let key: KeyObject;
  try {
    key = publicKey.includes('-----BEGIN')
      ? createPublicKey(publicKey)
      : createPublicKey({ key: b64(publicKey.trim()), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new Error('the SendGrid verification key is neither base64 DER nor PEM', { cause });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the SendGrid verification key is not an ECDSA P-256 public key');
  }
  return key;
}

function b64(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

const MAPPED_EVENTS = new Set(['bounce', 'dropped', 'spamreport', 'blocked', 'delivered']);

// SendGrid adds fields over time and puts custom args at the top level: only the ones used are checked.
const eventSchema = z
  .object({
    event: z.string(),
    email: z.string().min(1).optional(),
    type: z.string().optional(),
    reason: z.string().optional(),
    status: z.string().optional(),
    response: z.string().optional(),
    sg_message_id: z.string().optional(),
    sg_event_id: z.string().optional(),
    herald_delivery_id: z.string().min(1).optional(),
  })
  .refine((event) => !MAPPED_EVENTS.has(event.event) || event.email !== undefined, {
    path: ['email'],
    message: 'required for bounce, dropped, spamreport, blocked and delivered events',
  });

type SendgridEvent = z.infer<typeof eventSchema>;

/** The signals in an Event Webhook body (a JSON array); processed, deferred, open, click and others give none. */
export function sendgridSignals(events: unknown): FeedbackSignal[] {
  return parseFeedback(z.array(eventSchema), events, 'SendGrid events').flatMap((event) => {
    const mapped = classify(event);
    if (!mapped || event.email === undefined) return [];
    return [
      {
        ...mapped,
        channel: 'email' as const,
        source: 'sendgrid' as const,
        address: event.email,
        // `<id>.filter…`: SendGrid appends its filter suffix to the id it answered the send with.
        providerMessageId: event.sg_message_id?.split('.')[0] || undefined,
        deliveryId: event.herald_delivery_id,
        eventId: event.sg_event_id || undefined,
      },
    ];
  });
}

function classify(event: SendgridEvent): Pick<FeedbackSignal, 'kind' | 'permanent' | 'reason'> | undefined {
  switch (event.event) {
    case 'bounce':
      return event.type === 'blocked'
        ? { kind: 'note', permanent: false, reason: detailed('blocked', event.status, event.reason) }
        : { kind: 'bounce', permanent: true, reason: detailed('bounce', event.status, event.reason) };
    case 'dropped':
      return event.reason === 'Bounced Address'
        ? { kind: 'bounce', permanent: true, reason: 'dropped: Bounced Address' }
        : { kind: 'note', permanent: false, reason: detailed('dropped', event.reason) };
    case 'spamreport':
      return { kind: 'complaint', permanent: true, reason: 'spam report' };
    case 'blocked':
      return { kind: 'note', permanent: false, reason: detailed('blocked', event.status, event.reason) };
    case 'delivered':
      return { kind: 'delivered', permanent: false, reason: event.response || 'delivered' };
    default:
      return undefined;
  }
}

/** "bounce: 5.1.1 550 user unknown", or just "bounce" when SendGrid gave no detail. */
function detailed(label: string, ...details: (string | undefined)[]): string {
  const detail = details.filter(Boolean).join(' ');
  return detail ? `${label}: ${detail}` : label;
}
