import { z } from 'zod';
import { preferencesSchema, quietHoursSchema } from '@herald/core';

/** What the subscriber, device and preference routes answer (docs/api.md). */

export const deviceSchema = z
  .object({
    token: z.string(),
    platform: z.enum(['ios', 'android', 'web']),
    active: z.boolean(),
    deactivatedReason: z.string().optional(),
  })
  .meta({ id: 'Device' });

/** `201` to `POST /v1/subscribers/:subscriberId/devices`. */
export const registeredDeviceSchema = z
  .object({ token: z.string(), platform: z.enum(['ios', 'android', 'web']), active: z.boolean(), createdAt: z.date() })
  .meta({ id: 'RegisteredDevice' });

export const subscriberSchema = z
  .object({
    subscriberId: z.string(),
    email: z.string().optional(),
    phone: z.string().optional(),
    locale: z.string().optional(),
    timezone: z.string().optional(),
    quietHours: quietHoursSchema.optional(),
    data: z.record(z.string(), z.unknown()),
    devices: z.array(deviceSchema),
    createdAt: z.date(),
    updatedAt: z.date(),
  })
  .meta({ id: 'Subscriber' });

export const subscriberPageSchema = z.object({ items: z.array(subscriberSchema), nextCursor: z.string().optional() });

const channelSettings = preferencesSchema.shape.channels.unwrap();

/** A subscriber's opt-outs, or the tenant's defaults: by channel, and by rule category. */
export const preferencesViewSchema = z
  .object({ channels: channelSettings, categories: z.record(z.string(), channelSettings) })
  .meta({ id: 'Preferences' });
