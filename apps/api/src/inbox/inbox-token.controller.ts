import { Controller, HttpCode, Inject, Post } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { recipientSchema, signInboxToken } from '@herald/core';
import { Auth, CurrentPrincipal } from '../auth/auth.decorator';
import type { Principal } from '../auth/principal';
import { ValidParam } from '../http/valid-input';
import { Returns } from '../docs/api-output.decorator';
import { inboxTokenSchema } from './inbox.contract';

/** Issues the short-lived token a subscriber's browser or app uses to read its own inbox. */
@Controller('v1/subscribers')
export class InboxTokenController {
  constructor(@Inject(HERALD_CONFIG) private readonly config: HeraldConfig) {}

  @Post(':subscriberId/inbox-token')
  @Auth('admin')
  @HttpCode(201)
  @Returns(inboxTokenSchema)
  issue(
    @CurrentPrincipal() principal: Principal,
    @ValidParam('subscriberId', recipientSchema.shape.subscriberId) subscriberId: string,
  ) {
    if (principal.kind !== 'key') throw new Error('inbox tokens are issued with an admin key');
    const exp = Math.floor(Date.now() / 1000) + this.config.inboxTokenTtlSeconds;
    // The issuing key is named in the token: revoking that key refuses its tokens too.
    const claims = { tenantId: principal.tenantId, subscriberId, exp, keyId: principal.keyId };
    return {
      token: signInboxToken(claims, this.config.tokenSecret),
      expiresAt: new Date(exp * 1000),
    };
  }
}
