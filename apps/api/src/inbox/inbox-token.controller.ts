import { Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { z } from 'zod';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { signInboxToken } from '@herald/core';
import { Auth, TenantId } from '../auth/auth.decorator';
import { parse } from '../http/parse';

const subscriberIdSchema = z.string().min(1).max(255);

/** Issues the short-lived token a subscriber's browser or app uses to read its own inbox. */
@Controller('v1/subscribers')
export class InboxTokenController {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  @Post(':subscriberId/inbox-token')
  @Auth('admin')
  @HttpCode(201)
  issue(@TenantId() tenantId: string, @Param('subscriberId') rawId: string) {
    const subscriberId = parse(subscriberIdSchema, rawId, 'subscriberId');
    const exp = Math.floor(Date.now() / 1000) + this.config.inboxTokenTtlSeconds;
    return {
      token: signInboxToken({ tenantId, subscriberId, exp }, this.config.tokenSecret),
      expiresAt: new Date(exp * 1000),
    };
  }
}
