import { Controller, Get, Patch } from '@nestjs/common';
import { z } from 'zod';
import { quietHoursSchema, tenantRateLimitsSchema, type Channel, type QuietHours, type RateLimit } from '@herald/core';
import { TenantSettingsRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Problem } from '../http/problem';
import { Returns } from '../docs/api-output.decorator';
import { settingsSchema } from './settings.contract';
import { ValidBody } from '../http/valid-input';

const patchSchema = z.strictObject({
  rateLimits: tenantRateLimitsSchema.optional(),
  quietHours: quietHoursSchema.nullable().optional(),
});

/**
 * Tenant-wide settings. `rateLimits` are the per-subscriber defaults by channel that apply where a
 * rule has no `rateLimit` of its own; PATCH merges by channel, and `null` lifts a channel's limit.
 * `smsFrom` is the tenant's own sender number (inbound STOP to it opts out of this tenant only), or
 * null for the shared sender; it is read here and assigned by the operator (PUT /v1/tenants/:id/sms-sender).
 * `quietHours` is the default window for subscribers without their own (`null` removes it; absent
 * from the answer when there is none).
 */
@Controller('v1/settings')
@Auth('admin')
export class SettingsController {
  constructor(private readonly settings: TenantSettingsRepository) {}

  @Get()
  @Returns(settingsSchema)
  async get(@TenantId() tenantId: string) {
    const tenant = await this.settings.get(tenantId);
    return {
      // Stored without the nulls a PATCH clears with.
      rateLimits: tenant.rateLimits as Partial<Record<Channel, RateLimit>>,
      smsFrom: tenant.smsFrom,
      quietHours: (tenant.quietHours as QuietHours | null) ?? undefined,
    };
  }

  @Patch()
  @Returns(settingsSchema)
  async update(
    @TenantId() tenantId: string,
    // A body that tries to set smsFrom is refused with 403 rather than 400: it reaches the handler unparsed.
    @ValidBody(patchSchema, { unless: (request) => setsSmsFrom(request.body) }) input: z.infer<typeof patchSchema>,
  ) {
    if (setsSmsFrom(input)) throw smsFromIsTheOperators();
    const current = await this.get(tenantId);
    const merged = Object.fromEntries(
      Object.entries({ ...current.rateLimits, ...input.rateLimits }).filter(([, limit]) => limit !== null),
    );
    const quietHours = input.quietHours === undefined ? current.quietHours : input.quietHours;
    await this.settings.saveDefaults(tenantId, { rateLimits: merged, quietHours: quietHours ?? null });
    return { rateLimits: merged, smsFrom: current.smsFrom, quietHours: quietHours ?? undefined };
  }
}

/**
 * A sender number has one owner, so a tenant cannot pick its own: it could take another tenant's
 * number, or Herald's shared one. A 403 rather than "unknown field": the field exists, but not for this key.
 */
function setsSmsFrom(body: unknown): boolean {
  return body !== null && typeof body === 'object' && Object.hasOwn(body, 'smsFrom');
}

function smsFromIsTheOperators(): Problem {
  return new Problem(
    403,
    'forbidden',
    'Forbidden',
    'smsFrom is assigned by the operator (the root key, PUT /v1/tenants/{id}/sms-sender); a tenant can only read it',
    [{ path: 'smsFrom', message: 'is assigned by the operator' }],
  );
}
