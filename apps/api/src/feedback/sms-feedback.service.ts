import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { retryDelay } from '@herald/core';
import {
  DeliveriesRepository,
  ProviderFeedbackRepository,
  SmsSendersRepository,
  liftSuppression,
  recordFeedback,
  suppress,
  type SmsFeedbackDelivery as SmsDelivery,
} from '@herald/db';
import { QueueClients, ensureDeliveryJob } from '@herald/queue';
import { sharedSmsSenders } from '../tenants/sms-senders.service';

// Twilio's delivery receipt error codes that mean the number itself is dead.
const DEAD_NUMBER = new Set(['30005', '30006']); // unknown destination, landline or unreachable carrier
const TRY_LATER = '30003'; // unreachable handset (off, out of coverage)
const OPT_OUT = new Set(['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT']);
const OPT_IN = new Set(['START', 'YES', 'UNSTOP']);

export type StatusCallback = Record<string, string>;

/** Twilio's status callbacks (delivery receipts) and inbound keywords (STOP/START). */
@Injectable()
export class SmsFeedbackService {
  constructor(
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly queues: QueueClients,
    private readonly feedback: ProviderFeedbackRepository,
    private readonly senders: SmsSendersRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  async status(params: StatusCallback): Promise<string> {
    const status = params.MessageStatus ?? params.SmsStatus;
    // Intermediate states (queued, sending, sent) change nothing: only the end of the road does.
    if (!['delivered', 'undelivered', 'failed'].includes(status)) return 'ignored: intermediate status';
    const { outcome, retry } = await this.feedback.transaction(async (client) => {
      const messageSid = params.MessageSid ?? params.SmsSid;
      const delivery = messageSid ? await this.feedback.lockSmsDelivery(messageSid, client) : null;
      const base = {
        source: 'twilio',
        kind: status,
        channel: 'sms',
        address: params.To,
        providerMessageId: params.MessageSid,
        payload: withoutSecrets(params),
      };
      if (!delivery) {
        await recordFeedback(client, { ...base, tenantId: null, outcome: 'ignored: unknown message' });
        return { outcome: 'ignored' };
      }
      const result = await this.act(client, delivery, status, params);
      await recordFeedback(client, {
        ...base,
        tenantId: delivery.tenantId,
        deliveryId: delivery.id,
        suppressionId: result.suppressionId,
        outcome: result.outcome,
      });
      return result;
    });
    if (retry) {
      // After the commit: if Redis is away the delivery stays queued and the housekeeping sweep enqueues it.
      await ensureDeliveryJob(this.queues.deliveries, retry, retry.inMs).catch(() => undefined);
    }
    return outcome;
  }

  /** STOP and its synonyms suppress SMS to the sender for the tenant(s) owning the number written to. */
  async inbound(params: StatusCallback): Promise<string> {
    const keyword = (params.Body ?? '').trim().toUpperCase();
    const optOut = OPT_OUT.has(keyword);
    if (!optOut && !OPT_IN.has(keyword)) return 'ignored: not a keyword';
    return this.feedback.transaction(async (client) => {
      const tenants = await this.tenantsOwning(client, params.To);
      for (const tenantId of tenants) {
        const suppressionId = optOut
          ? await suppress(client, {
              tenantId,
              channel: 'sms',
              address: params.From,
              reason: 'opt_out',
              source: 'twilio',
              detail: `texted ${keyword} to ${params.To}`,
            })
          : null;
        const lifted = optOut ? 0 : await liftSuppression(client, tenantId, 'sms', params.From, 'opt_out');
        await recordFeedback(client, {
          tenantId,
          source: 'twilio',
          kind: optOut ? 'opt_out' : 'opt_in',
          channel: 'sms',
          address: params.From,
          suppressionId,
          outcome: optOut ? 'suppressed' : lifted ? 'suppression lifted' : 'noted: was not opted out',
          payload: withoutSecrets(params),
        });
      }
      return tenants.length ? (optOut ? 'suppressed' : 'lifted') : 'ignored: number not owned by a tenant';
    });
  }

  private async act(
    client: PoolClient,
    delivery: SmsDelivery,
    status: string,
    params: StatusCallback,
  ): Promise<{
    outcome: string;
    suppressionId?: string | null;
    retry?: SmsDelivery & { channel: 'sms'; inMs: number };
  }> {
    if (status === 'delivered') {
      await this.deliveries.applyReceipt(delivery.tenantId, delivery.id, 'delivered', null, client);
      return { outcome: 'delivery delivered' };
    }
    const code = params.ErrorCode ?? '';
    const reason = `carrier: ${status}${code ? ` (${code})` : ''}`;
    if (code === TRY_LATER) {
      const used = delivery.attempts - delivery.attemptFloor;
      if (used < this.config.retry.maxAttempts.sms) {
        const inMs = retryDelay(used, this.config.retry);
        await this.deliveries.retryAfterReceipt(delivery.tenantId, delivery.id, reason, inMs / 1000, client);
        return { outcome: 'retry scheduled', retry: { ...delivery, channel: 'sms', inMs } };
      }
    }
    await this.deliveries.applyReceipt(delivery.tenantId, delivery.id, 'failed', reason, client);
    if (!DEAD_NUMBER.has(code)) return { outcome: 'delivery failed' };
    const suppressionId = await suppress(client, {
      tenantId: delivery.tenantId,
      channel: 'sms',
      address: params.To,
      reason: 'invalid_address',
      source: 'twilio',
      detail: reason,
      deliveryId: delivery.id,
    });
    return { outcome: 'suppressed; delivery failed', suppressionId };
  }

  /**
   * The tenants that send from the number written to. A tenant's own number is that tenant's alone.
   * Herald's shared senders (TWILIO_FROM, the fallback accounts', the sandbox's) send for every tenant
   * without a number of its own, so a carrier-level STOP to one blocks them all; a tenant whose number
   * was set to a shared sender before numbers had owners sends from it too, and counts with them.
   */
  private async tenantsOwning(client: PoolClient, to: string | undefined): Promise<string[]> {
    if (!to) return [];
    return this.senders.tenantsSendingFrom(to, sharedSmsSenders(this.config), client);
  }
}

/** Twilio's callbacks carry the AccountSid (not secret) and nothing else sensitive; keep what explains. */
function withoutSecrets(params: StatusCallback): Record<string, string> {
  const { AccountSid: _, ...rest } = params;
  return rest;
}
