import type { paths } from './openapi';
import type { Problem } from './problem-error';

/**
 * Request shapes come from the generated document (so they follow the api); the document does not yet
 * describe response bodies, so the few the convenience methods return are written here, from the
 * contract (shared/API.md) and the controllers. Herald adds fields freely: these list what is certain.
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
 * event (recipients, version, time) is in the README, "Event contracts".
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
/** API.md, "Events". */
export type DeliveryStatus =
  | 'pending'
  | 'queued'
  | 'deferred'
  | 'sending'
  | 'sent'
  | 'delivered'
  | 'failed'
  | 'dead'
  | 'suppressed'
  | 'skipped'
  | 'rate_limited';

/** Timestamps are ISO 8601 strings, as JSON carries them. */
type Timestamp = string;

/** `202` to `POST /v1/events`. */
export interface EventAccepted {
  id: string;
  status: 'accepted';
  /** The answer is the first one again: this idempotency key was used before with the same body. */
  replayed: boolean;
}

/** One entry of `POST /v1/events/batch`'s `results`, in input order: accepted, or refused with a problem. */
export type BatchResult =
  | { id: string; status: 202; replayed?: true; error?: never }
  | { id?: never; status: number; error: Omit<Problem, 'status'> };

export interface DeliveryAttempt {
  at: Timestamp;
  outcome: string;
  provider?: string;
  code?: string;
  message?: string;
}

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
}

/** `GET /v1/events/{id}` (and `DELETE`, which answers the cancelled event). */
export interface EventView {
  id: string;
  type: string;
  status: EventStatus;
  createdAt: Timestamp;
  sendAt?: Timestamp;
  /** The first 1,000; past that `deliveriesTruncated` is set and `GET /v1/deliveries?eventId=` pages the rest. */
  deliveries: DeliveryView[];
  deliveriesTruncated?: true;
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
