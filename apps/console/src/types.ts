/** The shapes the console reads from the API (docs/api.md and /docs): only the fields it shows. */
export const CHANNELS = ['email', 'sms', 'push', 'inapp', 'webhook'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface Attempt {
  at: string;
  outcome: string;
  provider?: string;
  code?: string;
  message?: string;
}

export interface Delivery {
  id: string;
  subscriberId: string | null;
  endpointId?: string;
  channel: Channel;
  status: string;
  attempts: Attempt[];
  providerMessageId?: string;
  lastError?: string;
  /** the latest hold-back (quiet hours, a rate limit), kept after it is sent */
  lastDeferral?: { at: string; status: 'deferred' | 'rate_limited'; reason: string; until: string | null };
}

export interface DeliveryListItem extends Delivery {
  eventId: string;
  createdAt: string;
  /** when its status last changed */
  updatedAt: string;
}

export interface Feedback {
  id: string;
  at: string;
  source: string;
  kind: string;
  outcome: string;
  address?: string;
  suppression?: { id: string; channel: string; address: string; reason: string };
}

export interface DeliveryDetail extends DeliveryListItem {
  eventType: string;
  sentAt?: string;
  feedback: Feedback[];
}

export interface EventSummary {
  id: string;
  type: string;
  status: string;
  createdAt: string;
  sendAt?: string;
  correlationId?: string;
  recipients: number;
  deliveries: Record<string, number>;
}

/** One entry of an event's `to`: a subscriber (with any inline addresses) or a topic. */
export type Recipient = { subscriberId: string; email?: string; phone?: string } | { topic: string };

/** A CloudEvent's own attributes, kept with the event it became. */
export interface CloudEventAttributes {
  id: string;
  source: string;
  specversion: string;
  subject?: string;
  dataschema?: string;
  datacontenttype?: string;
  extensions?: Record<string, unknown>;
}

/** Where an event came from and when (docs/event-contracts.md, "Metadata and the correlation id"). */
export interface EventMetadata {
  occurredAt: string;
  receivedAt: string;
  correlationId?: string;
  schemaVersion?: number;
  sentBy?: { keyId: string } | { sourceId: string };
  cloudEvent?: CloudEventAttributes;
}

export interface EventDetail {
  id: string;
  type: string;
  status: string;
  createdAt: string;
  sendAt?: string;
  to: Recipient[];
  data: Record<string, unknown>;
  metadata: EventMetadata;
  deliveries: Delivery[];
  deliveriesTruncated?: boolean;
  deliveryCounts?: Record<string, number>;
}

/** GET /v1/keys: never the key itself. */
export interface ApiKey {
  id: string;
  prefix: string;
  scope: string;
  revokedAt?: string;
}

/** GET /v1/sources/:id */
export interface Source {
  id: string;
  name: string;
}

export interface DeadLetter {
  deliveryId: string;
  eventId: string;
  eventType: string;
  channel: Channel;
  subscriberId?: string;
  endpointId?: string;
  attempts: number;
  lastError?: string;
  lastAttempt?: Attempt;
  deadAt: string;
}

export interface Suppression {
  id: string;
  channel: 'email' | 'sms';
  address: string;
  reason: string;
  source: string;
  detail?: string;
  createdAt: string;
  expiresAt?: string;
}

export interface Device {
  token: string;
  platform: string;
  active: boolean;
  deactivatedReason?: string;
}

export interface Subscriber {
  subscriberId: string;
  email?: string;
  phone?: string;
  locale?: string;
  timezone?: string;
  quietHours?: { start: string; end: string };
  data: Record<string, unknown>;
  devices: Device[];
  createdAt: string;
  updatedAt: string;
}

export interface Preferences {
  channels?: Partial<Record<Channel, boolean>>;
  categories?: Record<string, Partial<Record<Channel, boolean>>>;
}

export interface InboxItem {
  id: string;
  title: string;
  body: string;
  url?: string;
  createdAt: string;
  readAt?: string;
  seenAt?: string;
}

export interface ChannelRule {
  channel: Channel;
  template: Record<string, unknown>;
  rateLimit?: unknown;
  digest?: unknown;
}

export interface Rule {
  eventType: string;
  category?: string;
  critical: boolean;
  channels: ChannelRule[];
  createdAt: string;
  updatedAt: string;
}

/** POST /v1/rules/:eventType/preview */
export interface Preview {
  eventType: string;
  channels: { channel: Channel; content: Record<string, unknown>; segments?: number }[];
}

/** GET /v1/stats */
export interface Stats {
  window: '1h' | '24h';
  deliveries: { channel: Channel; status: string; count: number }[];
  outbox: { pending: number; lagSeconds: number };
  queues: { name: string; available: boolean; jobs?: Record<string, number> }[];
}
