import { Inject, Injectable } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { isUuid, normalizeAddress } from '@herald/core';
import { SmsSendersRepository, type TenantSmsSender } from '@herald/db';
import { TWILIO_SANDBOX_FROM } from '@herald/sandbox';
import { Problem } from '../http/problem';

/**
 * Herald's shared SMS senders: TWILIO_FROM, each TWILIO_FALLBACK_URLS account's `from`, and the
 * sandbox's number. They send for every tenant without a number of its own, so no tenant may own
 * one, and a STOP texted to one of them opts out of all those tenants at once.
 */
export function sharedSmsSenders(config: HeraldConfig): string[] {
  const configured = [
    config.providers.sms?.from,
    ...config.providers.fallbacks.sms.map((account) => account.from),
    TWILIO_SANDBOX_FROM,
  ];
  // As written and in E.164, since Twilio reports numbers in E.164 and settings may not be.
  const numbers = configured.flatMap((from) => (from ? [from, normalizeAddress('sms', from) ?? from] : []));
  return [...new Set(numbers)];
}

/**
 * Which tenant sends SMS from which number. The operator (root key) assigns a number to one tenant;
 * the unique index on tenants.sms_from keeps it to one owner even when two assignments race
 * (SmsSendersRepository).
 */
@Injectable()
export class SmsSenders {
  constructor(
    private readonly senders: SmsSendersRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  async get(tenantId: string): Promise<TenantSmsSender> {
    const tenant = await this.senders.get(this.known(tenantId));
    if (!tenant) throw Problem.notFound(`Tenant ${tenantId}`);
    return tenant;
  }

  /** Gives the tenant `from` (E.164): 409 when it is a shared sender or another tenant's number. */
  async assign(tenantId: string, from: string): Promise<TenantSmsSender> {
    if (sharedSmsSenders(this.config).includes(from)) {
      throw taken(
        'sms-sender-shared',
        `${from} is Herald's shared sender, used by every tenant without a number of its own`,
      );
    }
    const tenant = await this.get(tenantId);
    if (tenant.smsFrom === from) return tenant;
    const owner = await this.senders.ownerOf(from);
    if (owner) throw ownedBy(from, owner);
    // Taken now: another assignment of the same number committed between the check and the update.
    if ((await this.senders.assign(tenantId, from)) === 'taken') throw ownedBy(from);
    return { ...tenant, smsFrom: from };
  }

  /** The tenant goes back to the shared sender; its number is free for another tenant. */
  async release(tenantId: string): Promise<void> {
    if (!(await this.senders.release(this.known(tenantId)))) throw Problem.notFound(`Tenant ${tenantId}`);
  }

  /** A tenant id that cannot exist is a 404, not a database error. */
  private known(tenantId: string): string {
    if (!isUuid(tenantId)) throw Problem.notFound(`Tenant ${tenantId}`);
    return tenantId;
  }
}

/** Only the root key gets here, so naming the owner helps the operator and tells no tenant anything. */
function ownedBy(from: string, ownerId?: string): Problem {
  const owner = ownerId ? `tenant ${ownerId}` : 'another tenant';
  return taken('sms-sender-taken', `${from} is assigned to ${owner}: release it there first`);
}

function taken(slug: string, detail: string): Problem {
  return new Problem(409, slug, 'SMS sender not available', detail, [
    { path: 'from', message: 'is not available to this tenant' },
  ]);
}
