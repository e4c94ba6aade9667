import type { Channel } from '@herald/core';

/** Every BullMQ queue Herald uses. The worker refuses to start when a role's queue has no processor. */
export const QueueName = {
  Fanout: 'fanout',
  DeliverEmail: 'deliver.email',
  DeliverSms: 'deliver.sms',
  DeliverPush: 'deliver.push',
  DeliverInapp: 'deliver.inapp',
  DeliverWebhook: 'deliver.webhook',
  /** a parking queue: dead deliveries wait here for an operator (no processor consumes it) */
  DeadLetter: 'dead-letter',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const DELIVERY_QUEUES = [
  QueueName.DeliverEmail,
  QueueName.DeliverSms,
  QueueName.DeliverPush,
  QueueName.DeliverInapp,
  QueueName.DeliverWebhook,
] as const;

export function deliveryQueue(channel: Channel): QueueName {
  return `deliver.${channel}` as QueueName;
}
