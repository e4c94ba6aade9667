import { Controller, Delete, Get, HttpCode, Param, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { quietHoursSchema, recipientSchema, type QuietHours } from '@herald/core';
import { SubscribersRepository, type DeviceRow, type SubscriberRow } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';
import { ValidBody, ValidParam, ValidQuery } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { subscriberPageSchema, subscriberSchema } from './subscribers.contract';

const subscriberIdSchema = recipientSchema.shape.subscriberId;

// The profile fields are checked exactly as an event's inline recipient is; `null` clears one.
const { email, phone, locale, timezone } = recipientSchema.shape;
const upsertSchema = z.strictObject({
  email: email.unwrap().nullable().optional(),
  phone: phone.unwrap().nullable().optional(),
  locale: locale.unwrap().nullable().optional(),
  timezone: timezone.unwrap().nullable().optional(),
  data: z.record(z.string(), z.unknown()).optional(),
  /** in the subscriber's `timezone` (UTC without one); `null` falls back to the tenant's default */
  quietHours: quietHoursSchema.nullable().optional(),
});
const listQuery = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
});

/**
 * A tenant's subscribers. PUT is an upsert that merges like an event's inline recipient does:
 * given fields win, absent ones keep what is stored, `null` clears one; `data` is replaced when given.
 */
@Controller('v1/subscribers')
@Auth('admin')
export class SubscribersController {
  constructor(private readonly subscribers: SubscribersRepository) {}

  /** 201 when the subscriber is new, 200 when it was updated. */
  @Put(':subscriberId')
  @Returns({ 200: subscriberSchema, 201: subscriberSchema })
  async upsert(
    @TenantId() tenantId: string,
    @ValidParam('subscriberId', subscriberIdSchema) subscriberId: string,
    @ValidBody(upsertSchema.optional()) input: z.infer<typeof upsertSchema> | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created } = await this.subscribers.upsertProfile(tenantId, subscriberId, input ?? {});
    reply.status(created ? 201 : 200);
    return this.get(tenantId, subscriberId);
  }

  /** Newest first; `nextCursor` is present while there are more. */
  @Get()
  @Returns(subscriberPageSchema)
  async list(@TenantId() tenantId: string, @ValidQuery(listQuery) input: z.infer<typeof listQuery>) {
    const after = input.cursor ? decodeCursor(input.cursor) : undefined;
    const rows = await this.subscribers.page(tenantId, after, input.limit);
    const { page, nextCursor } = pageOf(rows, input.limit, (row) => row.createdAt);
    const devices = await this.subscribers.devicesOf(
      tenantId,
      page.map((s) => s.subscriberId),
    );
    return {
      items: page.map((s) => view(s, devices.get(s.subscriberId) ?? [])),
      nextCursor,
    };
  }

  @Get(':subscriberId')
  @Returns(subscriberSchema)
  async get(@TenantId() tenantId: string, @Param('subscriberId') subscriberId: string) {
    const subscriber = await this.subscribers.get(tenantId, subscriberId);
    if (!subscriber) throw Problem.notFound(`Subscriber ${subscriberId}`);
    const devices = await this.subscribers.devicesOf(tenantId, [subscriberId]);
    return view(subscriber, devices.get(subscriberId) ?? []);
  }

  /** Deletes the subscriber and its push devices; its past deliveries and inbox stay. */
  @Delete(':subscriberId')
  @HttpCode(204)
  async remove(@TenantId() tenantId: string, @Param('subscriberId') subscriberId: string): Promise<void> {
    const deleted = await this.subscribers.remove(tenantId, subscriberId);
    if (!deleted) throw Problem.notFound(`Subscriber ${subscriberId}`);
  }
}

function view(s: SubscriberRow, devices: DeviceRow[]) {
  return {
    subscriberId: s.subscriberId,
    email: s.email ?? undefined,
    phone: s.phone ?? undefined,
    locale: s.locale ?? undefined,
    timezone: s.timezone ?? undefined,
    quietHours: (s.quietHours as QuietHours | null) ?? undefined,
    data: s.data as Record<string, unknown>,
    devices: devices.map((d) => ({
      token: d.token,
      platform: d.platform,
      active: d.active,
      deactivatedReason: d.deactivatedReason ?? undefined,
    })),
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
}
