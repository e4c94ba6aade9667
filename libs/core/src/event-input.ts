import { z } from 'zod';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency';
import { refuseUnstorableText } from './storable-text';

export const MAX_RECIPIENTS = 1000;
export const MAX_BATCH_EVENTS = 1000;

const pushToken = z.strictObject({
  token: z.string().min(1).max(4096),
  platform: z.enum(['ios', 'android', 'web']),
});

export const recipientSchema = z.strictObject({
  subscriberId: z.string().min(1).max(255),
  email: z.email().max(320).optional(),
  phone: z
    .string()
    .regex(/^\+[1-9]\d{6,14}$/, { error: 'expects an E.164 phone number such as +15551234567' })
    .optional(),
  locale: z.string().min(2).max(35).optional(),
  timezone: z.string().refine(isTimeZone, { error: 'expects an IANA time zone such as Europe/Paris' }).optional(),
  pushTokens: z.array(pushToken).max(100).optional(),
});
export type Recipient = z.infer<typeof recipientSchema>;

/** A topic's key, as in `PUT /v1/topics/:key/subscribers` and an event's `to: { topic }`. */
export const topicKeySchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, { error: 'expects letters, digits and _ . : -' });

/** Every member of the topic, as it is when the event fans out. */
export const topicRefSchema = z.strictObject({ topic: topicKeySchema });
export type TopicRef = z.infer<typeof topicRefSchema>;

/** Whom an event is for: one subscriber (inline) or every member of a topic. */
const addresseeSchema = z.union([recipientSchema, topicRefSchema]);
export type Addressee = Recipient | TopicRef;

export const eventTypeSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, { error: 'expects letters, digits and _ . : / -' });

/**
 * An instant as ISO 8601 with an offset, within what Postgres stores: `0000-01-01T00:00:00Z` is valid ISO but
 * not a Postgres timestamp, and one such row would fail the whole group-commit statement it is in.
 */
export const timestampSchema = z.iso
  .datetime({
    offset: true,
    // zod's own "Invalid ISO datetime" does not say what is missing, most often the offset.
    error: 'expects an ISO 8601 date-time with its time-zone offset (Z or ±hh:mm), e.g. 2026-12-24T09:00:00Z',
  })
  .refine((value) => new Date(value).getUTCFullYear() >= 1, { error: 'expects a year from 0001 on' });

/** A published version of an event type's data schema (`PUT /v1/event-types/:type/schemas/:version`). */
export const schemaVersionSchema = z.number().int().min(1).max(999_999_999);

/**
 * An event as every ingest route takes it (JSON, each item of a batch, a mapped CloudEvent or hook body).
 * Text Postgres cannot store is refused here, per event, so one bad event of a batch is its own 400.
 */
export const eventInputSchema = z
  .strictObject({
    type: eventTypeSchema,
    to: z.union([addresseeSchema, z.array(addresseeSchema).min(1).max(MAX_RECIPIENTS)]),
    data: z.record(z.string(), z.unknown()).optional(),
    sendAt: timestampSchema.optional(),
    /** when it happened, by the sender's clock (default: when Herald received it) */
    occurredAt: timestampSchema.optional(),
    /** the schema version `data` follows (default: the type's newest) */
    schemaVersion: schemaVersionSchema.optional(),
  })
  .superRefine(refuseUnstorableText);
export type EventInput = z.infer<typeof eventInputSchema>;

export const idempotencyKeySchema = z
  .string()
  .regex(IDEMPOTENCY_KEY_PATTERN, { error: 'expects 1–255 printable ASCII characters' });

export const batchInputSchema = z.strictObject({
  events: z
    .array(z.object({ idempotencyKey: idempotencyKeySchema.optional() }).passthrough())
    .min(1)
    .max(MAX_BATCH_EVENTS),
});

/**
 * `to` as a list with one entry per subscriber (later duplicates merged into the first) and one per
 * topic; a subscriber reached both directly and through a topic still gets one delivery per channel.
 */
export function recipientsOf(input: Pick<EventInput, 'to'>): Addressee[] {
  const list = Array.isArray(input.to) ? input.to : [input.to];
  const byKey = new Map<string, Addressee>();
  for (const entry of list) {
    const key = isTopicRef(entry) ? `topic\u0000${entry.topic}` : `subscriber\u0000${entry.subscriberId}`;
    byKey.set(key, { ...byKey.get(key), ...entry });
  }
  return [...byKey.values()];
}

export function isTopicRef(addressee: Addressee): addressee is TopicRef {
  return 'topic' in addressee;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
