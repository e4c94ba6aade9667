import { QueueName } from './queue-names';

/**
 * The job catalogue: one payload type per queue. Payloads carry ids only (never secrets or
 * message content; W3C traceparents at most); the receiver reads the rest from Postgres, so a re-run
 * sees current state. Work moves in batches (docs/architecture.md "Batches end to end"): a fan-out job
 * carries many events of one tenant, a delivery job many deliveries of one tenant on one channel.
 */
export interface JobPayloads {
  [QueueName.Fanout]: FanoutJob;
  [QueueName.DeliverEmail]: DeliveryJob;
  [QueueName.DeliverSms]: DeliveryJob;
  [QueueName.DeliverPush]: DeliveryJob;
  [QueueName.DeliverInapp]: DeliveryJob;
  [QueueName.DeliverWebhook]: DeliveryJob;
  [QueueName.DeadLetter]: DeadLetterJob;
}

/**
 * Events of one tenant to fan out. With `membersAfter` (one event), one batch of its topics' members:
 * those whose subscriber id sorts after it ('' = from the first).
 */
export interface FanoutJob {
  tenantId: string;
  eventIds: string[];
  /** W3C traceparent of each event's relay span, by event id (absent: tracing off, or a sweep's job) */
  traceParents?: Record<string, string>;
  membersAfter?: string;
}

/** Deliveries of one tenant on the queue's channel: a fan-out's batch, or one delivery (a retry, a sweep's). */
export interface DeliveryJob {
  tenantId: string;
  deliveryIds: string[];
  /** W3C traceparent of the fan-out span each delivery came from, by delivery id */
  traceParents?: Record<string, string>;
}

/** A copy of a dead delivery, for queue tooling; Postgres stays the record the admin API reads. */
export interface DeadLetterJob {
  deliveryId: string;
  tenantId: string;
  eventId: string;
  channel: string;
  attempts: number;
  lastError: string | null;
}

export type JobOf<Q extends QueueName> = JobPayloads[Q];
