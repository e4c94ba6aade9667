import type { paths } from './openapi';
import type { Problem } from './problem-error';

/**
 * Request shapes come from the generated document (so they follow the api); the document does not yet
 * describe response bodies, so the few the convenience methods return are written here, from the
 * controllers (events.query.ts `get()`, delivery-view.ts …). test/e2e/client.test.ts checks the keys a
 * running Herald answers against these, so a field added to the api without being added here fails it.
 */

type JsonBody<Operation> = Operation extends { requestBody?: { content: { 'application/json': infer Body } } }
  ? Body
  : never;

/** The body of `POST /v1/events`. */
export type EventInput = JsonBody<paths['/v1/events']['post']>;
/** One event of `POST /v1/events/batch`: an event and, optionally, its own idempotency key. */
export type BatchEventInput = EventInput & { idempotencyKey?: string };
/**
 * A CloudEvent 1.0 in structured mode (cloudevents.io): the required context attributes, then any others
 * (`subject`, `time`, `dataschema`, extensions such as `heraldtopic`) and `data`. How Herald maps them to an
 * event (recipients, version, time) is in docs/event-contracts.md.
 */
export interface CloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  [attribute: string]: unknown;
}
/** The body of `PUT /v1/rules/{eventType}`. */
export type RuleInput = JsonBody<paths['/v1/rules/{eventType}']['put']>;
/** The body of `POST /v1/webhook-endpoints`. */
export type WebhookEndpointInput = JsonBody<paths['/v1/webhook-endpoints']['post']>;

export type Channel = RuleInput['channels'][number]['channel'];
export type EventStatus = NonNullable<NonNullable<paths['/v1/events']['get']['parameters']['query']>['status']>;
export type DeliveryStatus = NonNullable<NonNullable<paths['/v1/deliveries']['get']['parameters']['query']>['status']>;

/** Timestamps are ISO 8601 strings, as JSON carries them. */
type Timestamp = string;

/** `202` to `POST /v1/events`. */
export interface EventAccepted {
  id: string;
  status: 'accepted';
  /** The answer is the first one again: this idempotency key was used before with the same body. */
  replayed: boolean;
  /** What the event was taken despite, e.g. a topic that does not exist (`to.0.topic`): it reaches nobody through it. */
  warnings?: { path: string; message: string }[];
}

/** One entry of `POST /v1/events/batch`'s `results`, in input order: accepted, or refused with a problem. */
export type BatchResult =
  | { id: string; status: 202; replayed?: true; warnings?: { path: string; message: string }[]; error?: never }
  | { id?: never; status: number; error: Omit<Problem, 'status'> };

export interface DeliveryAttempt {
  at: Timestamp;
  outcome: string;
  provider?: string;
  code?: string;
  message?: string;
}

/** A delivery's latest hold-back (quiet hours or a rate limit), kept after it is sent. */
export interface DeliveryDeferral {
  at: Timestamp;
  status: 'deferred' | 'rate_limited';
  /** What held it back (its `lastError` at the time), e.g. `rate limit: 1 per 60 s`. */
  reason: string;
  /** When it may go (the end of the quiet hours, room in the window); null when it never will (`rate_limited`). */
  until: Timestamp | null;
}

/** A delivery as `GET /v1/events/{id}` and `GET /v1/deliveries` show it. */
export interface DeliveryView {
  id: string;
  /** null for webhook deliveries, which go to an endpoint (`endpointId`) rather than a subscriber. */
  subscriberId: string | null;
  endpointId?: string;
  channel: Channel;
  status: DeliveryStatus;
  attempts: DeliveryAttempt[];
  providerMessageId?: string;
  lastError?: string;
  lastDeferral?: DeliveryDeferral;
}

/** One entry of an event's `to`: a subscriber (with any inline addresses) or a topic. */
export type Addressee = Exclude<EventInput['to'], unknown[]>;

/** What Herald keeps of a CloudEvent's context beside the event it became (not `type`, `time` or `data`). */
export interface CloudEventContext {
  id: string;
  source: string;
  specversion: '1.0';
  subject?: string;
  dataschema?: string;
  datacontenttype?: string;
  extensions?: Record<string, string | number | boolean>;
}

/** Where an event came from and when (docs/event-contracts.md, "Metadata and the correlation id"). */
export interface EventMetadata {
  /** When it happened, by the sender's clock (`occurredAt`, a CloudEvent's `time`); else when it was received. */
  occurredAt: Timestamp;
  receivedAt: Timestamp;
  /** From `X-Correlation-Id` or `traceparent`, generated otherwise; absent only on events older than it. */
  correlationId?: string;
  /** The version of the type's data schema `data` was checked against; absent when the type has none. */
  schemaVersion?: number;
  /** The tenant key, or the inbound hook's source, that sent it. */
  sentBy?: { keyId: string } | { sourceId: string };
  /** Only for events sent as CloudEvents. */
  cloudEvent?: CloudEventContext;
}

/** `GET /v1/events/{id}` (and `DELETE`, which answers the cancelled event). */
export interface EventView {
  id: string;
  type: string;
  status: EventStatus;
  createdAt: Timestamp;
  sendAt?: Timestamp;
  /** The recipients as sent, as a list (a subscriber named twice merged into one entry). */
  to: Addressee[];
  /** `{}` when the event had none. */
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** The first 1,000; past that `deliveriesTruncated` is set and `GET /v1/deliveries?eventId=` pages the rest. */
  deliveries: DeliveryView[];
  deliveriesTruncated?: true;
  /** Only with `deliveriesTruncated`: how many deliveries are in each status. */
  deliveryCounts?: Partial<Record<DeliveryStatus, number>>;
}

/** `PUT` and `GET /v1/rules/{eventType}`. */
export interface RuleView {
  eventType: string;
  category?: string;
  critical: boolean;
  channels: RuleInput['channels'];
  createdAt: Timestamp;
  updatedAt: Timestamp;
  /** Allowed but probably unintended (e.g. an SMS body longer than 10 segments); only on `PUT`. */
  warnings?: { path: string; message: string }[];
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  description?: string;
  active: boolean;
  disabledReason?: string;
  consecutiveFailures: number;
  createdAt: Timestamp;
  updatedAt: Timestamp;
}

/** `201` to `POST /v1/webhook-endpoints`: the only answer that shows the signing secret. */
export interface CreatedWebhookEndpoint extends WebhookEndpoint {
  /** `whsec_…`: give it to verifyWebhook(). */
  secret: string;
}
