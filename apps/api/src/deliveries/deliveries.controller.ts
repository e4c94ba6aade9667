import { Controller, Get, Param } from '@nestjs/common';
import { z } from 'zod';
import { CHANNELS, DELIVERY_STATUSES, isUuid } from '@herald/core';
import { DeliveryViewsRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';
import { ValidQuery } from '../http/valid-input';
import { deliveryView } from './delivery-view';
import { Returns } from '../docs/api-output.decorator';
import { deliveryDetailSchema, deliveryPageSchema } from './deliveries.contract';

const listQuery = z.object({
  channel: z.enum(CHANNELS).optional(),
  status: z.enum(DELIVERY_STATUSES).optional(),
  subscriberId: z.string().min(1).max(255).optional(),
  eventId: z.string().refine(isUuid, 'must be an event id (a UUID)').optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/** One delivery's whole story: attempts, and every provider signal about it with what it caused. */
@Controller('v1/deliveries')
@Auth('ingest')
export class DeliveriesController {
  constructor(private readonly deliveries: DeliveryViewsRepository) {}

  /** Deliveries newest first, filtered by channel, status, subscriber and event. */
  @Get()
  @Returns(deliveryPageSchema, { checked: false }) // delivery-view.ts types lastDeferral as JsonValue
  async list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    const { channel, status, subscriberId, eventId } = input;
    const rows = await this.deliveries.page(tenantId, { channel, status, subscriberId, eventId }, after, input.limit);
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    return {
      items: page.map((d) => ({
        ...deliveryView(d),
        eventId: d.eventId,
        createdAt: d.createdAt,
        updatedAt: d.updatedAt,
      })),
      nextCursor,
    };
  }

  @Get(':id')
  @Returns(deliveryDetailSchema, { checked: false }) // as list()
  async get(@TenantId() tenantId: string, @Param('id') id: string) {
    const delivery = await this.deliveries.detail(tenantId, id);
    if (!delivery) throw Problem.notFound(`Delivery ${id}`);
    return {
      ...deliveryView(delivery),
      eventId: delivery.eventId,
      eventType: delivery.event.type,
      createdAt: delivery.createdAt,
      updatedAt: delivery.updatedAt,
      sentAt: delivery.sentAt ?? undefined,
      feedback: delivery.feedback.map((f) => ({
        id: f.id,
        at: f.createdAt,
        source: f.source,
        kind: f.kind,
        outcome: f.outcome,
        address: f.address ?? undefined,
        payload: f.payload,
        suppression: f.suppression && {
          id: f.suppression.id,
          channel: f.suppression.channel,
          address: f.suppression.address,
          reason: f.suppression.reason,
        },
      })),
    };
  }
}
