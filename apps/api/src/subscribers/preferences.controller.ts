import { Controller, Get, Param, Put } from '@nestjs/common';
import { preferencesSchema, recipientSchema, type Preferences } from '@herald/core';
import { SubscribersRepository, TenantSettingsRepository } from '@herald/db';
import { Auth, TenantId } from '../auth/auth.decorator';
import { Problem } from '../http/problem';
import { ValidBody, ValidParam } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { preferencesViewSchema } from './subscribers.contract';

const subscriberIdSchema = recipientSchema.shape.subscriberId;

/**
 * Opt-outs by channel and by rule category: a subscriber's own, and the tenant's defaults that apply
 * where the subscriber has no setting (precedence in `@herald/core` preferences.ts). PUT replaces.
 * Fan-out honours them (the delivery ends `skipped`), except for `critical` rules.
 */
@Controller('v1')
@Auth('admin')
export class PreferencesController {
  constructor(
    private readonly settings: TenantSettingsRepository,
    private readonly subscribers: SubscribersRepository,
  ) {}

  @Get('subscribers/:subscriberId/preferences')
  @Returns(preferencesViewSchema)
  async get(@TenantId() tenantId: string, @Param('subscriberId') subscriberId: string) {
    const subscriber = await this.subscribers.get(tenantId, subscriberId);
    if (!subscriber) throw Problem.notFound(`Subscriber ${subscriberId}`);
    return view(subscriber.preferences);
  }

  /** Creates the subscriber when it is new (as registering a device does). */
  @Put('subscribers/:subscriberId/preferences')
  @Returns(preferencesViewSchema)
  async put(
    @TenantId() tenantId: string,
    @ValidParam('subscriberId', subscriberIdSchema) subscriberId: string,
    @ValidBody(preferencesSchema) preferences: Preferences,
  ) {
    await this.subscribers.setPreferences(tenantId, subscriberId, preferences);
    return view(preferences);
  }

  @Get('preferences/defaults')
  @Returns(preferencesViewSchema)
  async getDefaults(@TenantId() tenantId: string) {
    const tenant = await this.settings.get(tenantId);
    return view(tenant.defaultPreferences);
  }

  @Put('preferences/defaults')
  @Returns(preferencesViewSchema)
  async putDefaults(@TenantId() tenantId: string, @ValidBody(preferencesSchema) defaultPreferences: Preferences) {
    await this.settings.setDefaultPreferences(tenantId, defaultPreferences);
    return view(defaultPreferences);
  }
}

function view(stored: unknown) {
  const preferences = (stored ?? {}) as Preferences;
  return { channels: preferences.channels ?? {}, categories: preferences.categories ?? {} };
}
