import { QueueName } from './queue-names';

/**
 * The job catalogue: one payload type per queue. Payloads carry ids only (never secrets or
 * message content); the receiver reads the rest from Postgres, so a re-run sees current state.
 */
export interface JobPayloads {
  [QueueName.Fanout]: { eventId: string; tenantId: string };
  [QueueName.DeliverEmail]: DeliveryJob;
  [QueueName.DeliverSms]: DeliveryJob;
  [QueueName.DeliverPush]: DeliveryJob;
  [QueueName.DeliverInapp]: DeliveryJob;
  [QueueName.DeliverWebhook]: DeliveryJob;
}

export interface DeliveryJob {
  deliveryId: string;
  tenantId: string;
}

export type JobOf<Q extends QueueName> = JobPayloads[Q];
