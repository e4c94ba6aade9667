import { QueueName } from './queue-names';

/**
 * The job catalogue: one payload type per queue. Payloads carry ids only (never secrets or
 * message content; a W3C traceparent at most); the receiver reads the rest from Postgres, so a re-run sees current state.
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
 * One fan-out step of an event (jobId = the event id); with `membersAfter`, one batch of its topics'
 * members: those whose subscriber id sorts after it ('' = from the first).
 */
export interface FanoutJob {
  eventId: string;
  tenantId: string;
  traceParent?: string;
  membersAfter?: string;
}

export interface DeliveryJob {
  deliveryId: string;
  tenantId: string;
  /** W3C traceparent of the fan-out that made the job (absent: tracing off, or a sweep/replay) */
  traceParent?: string;
}

/** A copy of a dead delivery, for queue tooling; Postgres stays the record the admin API reads. */
export interface DeadLetterJob extends DeliveryJob {
  eventId: string;
  channel: string;
  attempts: number;
  lastError: string | null;
}

export type JobOf<Q extends QueueName> = JobPayloads[Q];
