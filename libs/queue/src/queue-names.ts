import type { Channel } from '@herald/core';

/** Every BullMQ queue Herald uses. The worker refuses to start when a role's queue has no processor. */
export const QueueName = {
  Fanout: 'fanout',
  DeliverEmail: 'deliver.email',
  DeliverSms: 'deliver.sms',
  DeliverPush: 'deliver.push',
  DeliverInapp: 'deliver.inapp',
  DeliverWebhook: 'deliver.webhook',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export function deliveryQueue(channel: Channel): QueueName {
  return `deliver.${channel}` as QueueName;
}
