import type { Channel } from '@herald/core';

/**
 * How a provider call ended, as the delivery pipeline acts on it:
 * - ok: accepted by the provider (delivery `sent`);
 * - retryable: try again later (network, 429, 5xx, 4xx SMTP), honouring retryAfterMs when given;
 * - permanent: will never work as sent (delivery `failed`, no retry);
 * - bad_address: this recipient address/token/endpoint is dead (`failed`, and feedback acts on it).
 */
export type SendOutcome = 'ok' | 'retryable' | 'permanent' | 'bad_address';

export interface SendResult {
  outcome: SendOutcome;
  providerMessageId?: string;
  /** the provider's own code: SMTP reply code, Twilio error code, FCM error code, HTTP status */
  code?: string;
  /** a short, secret-free explanation */
  message?: string;
  retryAfterMs?: number;
  /** push only: one entry per device token of the subscriber */
  targets?: TargetResult[];
}

export interface TargetResult {
  target: string;
  outcome: SendOutcome;
  code?: string;
  message?: string;
  providerMessageId?: string;
}

/** The delivery being sent, as adapters see it (ids only; the content comes rendered). */
export interface OutboundDelivery {
  id: string;
  tenantId: string;
  eventId: string;
  attempt: number;
}

export interface EmailMessage {
  to: string;
  subject: string;
  html?: string;
  /** derived from html by the adapter when absent */
  text?: string;
}

export interface SmsMessage {
  to: string;
  body: string;
  /** the tenant's own sender number, instead of the provider's configured one */
  from?: string;
}

export interface PushMessage {
  tokens: string[];
  title: string;
  body: string;
  data?: Record<string, string>;
}

export interface WebhookMessage {
  url: string;
  /** the endpoint's `whsec_…` signing secret */
  secret: string;
  /** the exact bytes to POST (JSON) */
  payload: string;
  /** the event's correlation id, sent as X-Correlation-Id so the receiver's logs line up with Herald's */
  correlationId?: string;
}

export interface ChannelMessages {
  email: EmailMessage;
  sms: SmsMessage;
  push: PushMessage;
  webhook: WebhookMessage;
}

/**
 * One provider behind a channel. `send` never throws for a provider's answer: every SDK error is
 * classified into a SendResult by the adapter's own table, next to the adapter.
 */
export interface ChannelProvider<C extends keyof ChannelMessages> {
  readonly channel: C & Channel;
  /** e.g. 'smtp', 'twilio', 'fcm', 'http' — recorded with each attempt */
  readonly name: string;
  send(delivery: OutboundDelivery, message: ChannelMessages[C]): Promise<SendResult>;
  close?(): Promise<void>;
}
