import { z } from 'zod';
import { DELIVERY_STATUSES, recipientSchema, topicRefSchema } from '@herald/core';
import { deliveryViewSchema } from '../deliveries/deliveries.contract';

/** What the events routes answer (docs/api.md): the schemas the document and @herald/client's types come from. */

export const EVENT_STATUSES = ['accepted', 'routed', 'unrouted', 'cancelled'] as const;

const fieldWarnings = z
  .array(z.object({ path: z.string(), message: z.string() }))
  .describe('What the event was taken despite, e.g. a topic that does not exist (`to.0.topic`)');

/** `202` to `POST /v1/events` (`Idempotent-Replayed: true` when the idempotency key was used before). */
export const eventAcceptedSchema = z
  .object({ id: z.string(), status: z.literal('accepted'), warnings: fieldWarnings.optional() })
  .meta({ id: 'EventAccepted' });

const problemBody = z.object({
  type: z.string(),
  title: z.string(),
  detail: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  requestId: z.string().optional(),
});

/** One entry of a 207's `results`, in input order: accepted, or refused with a problem (without its `status`). */
export const batchResultSchema = z
  .union([
    z.object({
      id: z.string(),
      status: z.literal(202),
      replayed: z.literal(true).optional(),
      warnings: fieldWarnings.optional(),
    }),
    z.object({ status: z.number().int(), error: problemBody.catchall(z.unknown()) }),
  ])
  .meta({ id: 'BatchResult' });

/** `207` to `POST /v1/events/batch` (and to a CloudEvents batch on `POST /v1/events`). */
export const batchAnswerSchema = z.object({ results: z.array(batchResultSchema) });

/** What a list entry and the full view of an event both say about it. */
const eventHeadShape = {
  id: z.string(),
  type: z.string(),
  status: z.enum(EVENT_STATUSES),
  createdAt: z.date(),
  sendAt: z.date().optional(),
};

export const eventSummarySchema = z
  .object({
    ...eventHeadShape,
    correlationId: z.string().optional(),
    recipients: z.number().int().describe('How many entries `to` has'),
    deliveries: z.record(z.string(), z.number().int()).describe('How many deliveries are in each status'),
  })
  .meta({ id: 'EventSummary' });

export const eventPageSchema = z.object({ items: z.array(eventSummarySchema), nextCursor: z.string().optional() });

/** What Herald keeps of a CloudEvent's context beside the event it became (not `type`, `time` or `data`). */
export const cloudEventContextSchema = z
  .object({
    id: z.string(),
    source: z.string(),
    specversion: z.literal('1.0'),
    subject: z.string().optional(),
    dataschema: z.string().optional(),
    datacontenttype: z.string().optional(),
    extensions: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  })
  .meta({ id: 'CloudEventContext' });

/** Where an event came from and when (docs/event-contracts.md, "Metadata and the correlation id"). */
export const eventMetadataSchema = z
  .object({
    occurredAt: z.date().describe("When it happened, by the sender's clock; else when it was received"),
    receivedAt: z.date(),
    correlationId: z.string().optional(),
    schemaVersion: z.number().int().optional(),
    sentBy: z.union([z.object({ keyId: z.string() }), z.object({ sourceId: z.string() })]).optional(),
    cloudEvent: cloudEventContextSchema.optional(),
  })
  .meta({ id: 'EventMetadata' });

/** One entry of an event's `to`: a subscriber (with any inline addresses) or a topic. */
export const addresseeSchema = z.union([recipientSchema, topicRefSchema]).meta({ id: 'Addressee' });

/** `GET /v1/events/:id`, and `DELETE`, which answers the cancelled event. */
export const eventViewSchema = z
  .object({
    ...eventHeadShape,
    to: z.array(addresseeSchema).describe('The recipients as sent, as a list'),
    data: z.record(z.string(), z.unknown()),
    metadata: eventMetadataSchema,
    deliveries: z
      .array(deliveryViewSchema)
      .describe(
        'The first 1,000; past that `deliveriesTruncated` is set and `GET /v1/deliveries?eventId=` pages the rest',
      ),
    deliveriesTruncated: z.literal(true).optional(),
    deliveryCounts: z
      .partialRecord(z.enum(DELIVERY_STATUSES), z.number().int())
      .optional()
      .describe('Only with `deliveriesTruncated`: how many deliveries are in each status'),
  })
  .meta({ id: 'EventView' });
