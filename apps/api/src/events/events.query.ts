import { Injectable } from '@nestjs/common';
import { isUuid, type Addressee, type CloudEventContext } from '@herald/core';
import { EventsRepository, type EventFilter } from '@herald/db';
import { decodeCursor, pageOf } from '../http/cursor';
import type { z } from 'zod';
import type { deliveryViewSchema } from '../deliveries/deliveries.contract';
import { deliveryView } from '../deliveries/delivery-view';
import { Problem } from '../http/problem';

/**
 * How many deliveries `GET /v1/events/:id` lists: a broadcast to a topic has one per member, so the
 * rest are counted by status and paged through `GET /v1/deliveries?eventId=`.
 */
export const EVENT_DELIVERIES_SHOWN = 1000;

/** Events as the api reads them (with their deliveries and every attempt). Reads only. */
@Injectable()
export class EventsQuery {
  constructor(private readonly events: EventsRepository) {}

  /** Events newest first, with how many deliveries each has in each status. */
  async list(tenantId: string, filter: EventFilter & { cursor?: string; limit: number }) {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const rows = await this.events.page(tenantId, filter, after, filter.limit);
    const { page, nextCursor } = pageOf(rows, filter.limit, (row) => row.createdAt);
    const counts = await this.events.deliveryCountsByEvent(
      tenantId,
      page.map((e) => e.id),
    );
    return {
      items: page.map((e) => ({
        id: e.id,
        type: e.type,
        status: e.status,
        createdAt: e.createdAt,
        sendAt: e.sendAt ?? undefined,
        correlationId: e.correlationId ?? undefined,
        recipients: (e.recipients as unknown[]).length,
        deliveries: Object.fromEntries(counts.filter((c) => c.eventId === e.id).map((c) => [c.status, c.count])),
      })),
      nextCursor,
    };
  }

  async get(tenantId: string, id: string) {
    const event = isUuid(id) ? await this.events.withDeliveries(tenantId, id, EVENT_DELIVERIES_SHOWN + 1) : null;
    if (!event) throw Problem.notFound(`Event ${id}`);
    return {
      id: event.id,
      type: event.type,
      status: event.status,
      createdAt: event.createdAt,
      sendAt: event.sendAt ?? undefined,
      // JSON columns, written from the validated input: their shape is the contract's.
      to: event.recipients as Addressee[],
      data: event.data as Record<string, unknown>,
      metadata: {
        occurredAt: event.occurredAt ?? event.createdAt,
        receivedAt: event.receivedAt ?? event.createdAt,
        correlationId: event.correlationId ?? undefined,
        schemaVersion: event.schemaVersion ?? undefined,
        sentBy: event.senderKeyId
          ? { keyId: event.senderKeyId }
          : event.senderSourceId
            ? { sourceId: event.senderSourceId }
            : undefined,
        cloudEvent: (event.cloudEvent as CloudEventContext | null) ?? undefined,
      },
      deliveries: event.deliveries
        .slice(0, EVENT_DELIVERIES_SHOWN)
        .map((d) => deliveryView(d) as z.output<typeof deliveryViewSchema>),
      ...(event.deliveries.length > EVENT_DELIVERIES_SHOWN && {
        deliveriesTruncated: true as const,
        deliveryCounts: await this.events.deliveryCounts(tenantId, id),
      }),
    };
  }
}
