import type { components, paths } from './openapi';

/**
 * Friendly names for the shapes of Herald's API, all taken from the generated document (openapi.ts): requests
 * from the zod schemas the api parses them with, responses from the schemas its routes declare (`@Returns`),
 * which test/e2e/response-contracts.test.ts checks against what a running Herald answers.
 */

type Schemas = components['schemas'];
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
export type EventStatus = Schemas['EventView']['status'];
export type DeliveryStatus = Schemas['DeliveryView']['status'];

/**
 * `202` to `POST /v1/events`, with `replayed` from its `Idempotent-Replayed` header: the answer is the first one
 * again, as this idempotency key was used before with the same body.
 */
export type EventAccepted = Schemas['EventAccepted'] & { replayed: boolean };
/** One entry of `POST /v1/events/batch`'s `results`, in input order: accepted, or refused with a problem. */
export type BatchResult = (Exclude<Schemas['BatchResult'], Refused> & { error?: never }) | (Refused & { id?: never });
type Refused = Extract<Schemas['BatchResult'], { error: unknown }>;
export type EventSummary = Schemas['EventSummary'];
/** `GET /v1/events/{id}` (and `DELETE`, which answers the cancelled event). */
export type EventView = Schemas['EventView'];
export type EventMetadata = Schemas['EventMetadata'];
export type CloudEventContext = Schemas['CloudEventContext'];
/** One entry of an event's `to`: a subscriber (with any inline addresses) or a topic. */
export type Addressee = Schemas['Addressee'];

export type DeliveryAttempt = Schemas['DeliveryAttempt'];
/** A delivery's latest hold-back (quiet hours or a rate limit), kept after it is sent. */
export type DeliveryDeferral = Schemas['DeliveryDeferral'];
/** A delivery as `GET /v1/events/{id}` shows it. */
export type DeliveryView = Schemas['DeliveryView'];
/** A delivery as `GET /v1/deliveries` lists it. */
export type DeliveryListItem = Schemas['DeliveryListItem'];
/** `GET /v1/deliveries/{id}`: with every provider signal about it. */
export type DeliveryDetail = Schemas['DeliveryDetail'];
export type DeliveryFeedback = Schemas['DeliveryFeedback'];
export type DeadLetter = Schemas['DeadLetter'];
export type Suppression = Schemas['Suppression'];

export type Subscriber = Schemas['Subscriber'];
export type Device = Schemas['Device'];
export type Preferences = Schemas['Preferences'];
export type Topic = Schemas['Topic'];
export type InboxItem = Schemas['InboxItem'];

/** `PUT` and `GET /v1/rules/{eventType}`. */
export type RuleView = Schemas['RuleView'];
/** `POST /v1/rules/{eventType}/preview`. */
export type RulePreview = Schemas['RulePreview'];
export type WebhookEndpoint = Schemas['WebhookEndpoint'];
/** `201` to `POST /v1/webhook-endpoints`: the only answer that shows the signing secret. */
export type CreatedWebhookEndpoint = Schemas['CreatedWebhookEndpoint'];
export type Source = Schemas['Source'];
export type ApiKey = Schemas['ApiKey'];
export type Settings = Schemas['Settings'];
/** `GET /v1/stats`. */
export type Stats = Schemas['Stats'];
export type AuditEntry = Schemas['AuditEntry'];

/** A page of a listing: `nextCursor` is present while there are more. */
export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

/** Every channel, in Herald's order (a value: e.g. for a filter's options). */
export const CHANNELS = ['email', 'sms', 'push', 'inapp', 'webhook'] as const satisfies readonly Channel[];
// The list names every channel the document knows: a new one fails to compile here until it is added.
const everyChannel: Record<Exclude<Channel, (typeof CHANNELS)[number]>, never> = {};
void everyChannel;
