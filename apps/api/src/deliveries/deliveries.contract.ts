import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES } from '@herald/core';

/** What `GET /v1/deliveries` and `GET /v1/events/:id` answer about deliveries (docs/api.md). */

export const deliveryAttemptSchema = z
  .object({
    at: z.date(),
    outcome: z.string(),
    provider: z.string().optional(),
    code: z.string().optional(),
    message: z.string().optional(),
  })
  .meta({ id: 'DeliveryAttempt' });

/** A delivery's latest hold-back (quiet hours or a rate limit), kept after it is sent. */
export const deliveryDeferralSchema = z
  .object({
    at: z.iso.datetime({ offset: true }),
    status: z.enum(['deferred', 'rate_limited']),
    reason: z.string().describe('What held it back (its `lastError` at the time), e.g. `rate limit: 1 per 60 s`'),
    until: z.iso
      .datetime({ offset: true })
      .nullable()
      .describe('When it may go; null when it never will (`rate_limited`)'),
  })
  .meta({ id: 'DeliveryDeferral' });

const deliveryShape = {
  id: z.string(),
  subscriberId: z
    .string()
    .nullable()
    .describe('null for webhook deliveries, which go to an endpoint (`endpointId`) rather than a subscriber'),
  endpointId: z.string().optional(),
  channel: z.enum(CHANNELS),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.array(deliveryAttemptSchema),
  providerMessageId: z.string().optional(),
  lastError: z.string().optional(),
  lastDeferral: deliveryDeferralSchema.optional(),
};

/** A delivery and every attempt (delivery-view.ts). */
export const deliveryViewSchema = z.object(deliveryShape).meta({ id: 'DeliveryView' });

const listedShape = {
  ...deliveryShape,
  eventId: z.string(),
  createdAt: z.date(),
  updatedAt: z.date().describe('When its status last changed'),
};

export const deliveryListItemSchema = z.object(listedShape).meta({ id: 'DeliveryListItem' });

export const deliveryPageSchema = z.object({
  items: z.array(deliveryListItemSchema),
  nextCursor: z.string().optional(),
});

/** A provider signal about a delivery, and the suppression it caused. */
export const deliveryFeedbackSchema = z
  .object({
    id: z.string(),
    at: z.date(),
    source: z.string(),
    kind: z.string(),
    outcome: z.string(),
    address: z.string().optional(),
    payload: z.unknown(),
    suppression: z.object({ id: z.string(), channel: z.string(), address: z.string(), reason: z.string() }).optional(),
  })
  .meta({ id: 'DeliveryFeedback' });

export const deliveryDetailSchema = z
  .object({
    ...listedShape,
    eventType: z.string(),
    sentAt: z.date().optional(),
    feedback: z.array(deliveryFeedbackSchema),
  })
  .meta({ id: 'DeliveryDetail' });
