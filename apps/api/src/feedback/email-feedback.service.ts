import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import type { FeedbackSignal } from '@herald/channels';
import { isUuid, normalizeAddress } from '@herald/core';
import {
  DeliveriesRepository,
  ProviderFeedbackRepository,
  recordFeedback,
  suppress,
  type EmailFeedbackDelivery as LinkedDelivery,
} from '@herald/db';

// Herald's own Message-ID header is `<deliveryId@herald>`: providers that echo the original
// headers (SES commonHeaders, the generic form) lead straight to the delivery.
const HERALD_MESSAGE_ID = /^<?([0-9a-f-]{36})@herald>?$/i;

/** The outcome of each signal of a provider message that was applied before (a provider's retry). */
export const DUPLICATE_OUTCOME = 'ignored: duplicate of a message already applied';

/** Thrown inside the transaction to roll back a copy of a message already applied. */
class AlreadyApplied extends Error {}

/**
 * Applies an email provider's asynchronous signals: links each to the delivery it is about, changes
 * what Herald does next (suppression), marks the delivery, and keeps the signal for the record.
 * A signal about a message Herald does not know, or naming an address the delivery was not sent to,
 * is kept and otherwise ignored: a provider report can only act on the delivery's own recipient.
 */
@Injectable()
export class EmailFeedbackService {
  constructor(
    private readonly feedback: ProviderFeedbackRepository,
    private readonly deliveries: DeliveriesRepository,
  ) {}

  /**
   * Applies the signals one provider message carried, in one transaction, and returns an outcome per
   * signal. With `messageId` (SNS MessageId, SendGrid sg_event_id, webhook-id) the message acts once:
   * its first row carries the id, and a copy (a retry, even a concurrent one) finds it taken, rolls
   * back whatever it did, and answers DUPLICATE_OUTCOME for each signal.
   */
  async apply(signals: FeedbackSignal[], payload: unknown, messageId?: string): Promise<string[]> {
    if (signals.length === 0) return [];
    try {
      return await this.feedback.transaction(async (client) => {
        const outcomes: string[] = [];
        for (const [i, signal] of signals.entries()) {
          outcomes.push(await this.applyOne(client, signal, payload, i === 0 ? messageId : undefined));
        }
        return outcomes;
      });
    } catch (err) {
      if (err instanceof AlreadyApplied) return signals.map(() => DUPLICATE_OUTCOME);
      throw err;
    }
  }

  private async applyOne(
    client: PoolClient,
    signal: FeedbackSignal,
    payload: unknown,
    messageId: string | undefined,
  ): Promise<string> {
    const delivery = await this.linkedDelivery(client, signal);
    const base = {
      source: signal.source,
      kind: signal.kind,
      channel: signal.channel,
      address: signal.address,
      providerMessageId: signal.providerMessageId,
      payload,
      messageId,
    };
    const record = async (event: Parameters<typeof recordFeedback>[1]) => {
      if ((await recordFeedback(client, event)) === null) throw new AlreadyApplied();
    };
    if (!delivery) {
      await record({ ...base, tenantId: null, outcome: 'ignored: unknown message' });
      return 'ignored';
    }
    const { outcome, suppressionId } = await this.act(client, signal, delivery);
    await record({ ...base, tenantId: delivery.tenantId, deliveryId: delivery.id, suppressionId, outcome });
    return outcome;
  }

  private async act(
    client: PoolClient,
    signal: FeedbackSignal,
    delivery: LinkedDelivery,
  ): Promise<{ outcome: string; suppressionId?: string | null }> {
    // Anyone who knows a delivery id (it is in every Message-ID) could name any address beside it:
    // only the address the delivery went to may be suppressed, and only a report about it marks the delivery.
    if (!delivery.recipient) return { outcome: "ignored: the delivery's recipient is not known any more" };
    if (!sameMailbox(signal.address, delivery.recipient)) {
      return { outcome: "ignored: the address is not the delivery's recipient" };
    }
    const suppressFor = (reason: 'hard_bounce' | 'complaint') =>
      suppress(client, {
        tenantId: delivery.tenantId,
        channel: 'email',
        address: delivery.recipient!,
        reason,
        source: signal.source,
        detail: signal.reason,
        deliveryId: delivery.id,
      });
    switch (signal.kind) {
      case 'bounce': {
        if (!signal.permanent) return { outcome: 'noted: transient bounce' };
        const suppressionId = await suppressFor('hard_bounce');
        await this.deliveries.applyReceipt(
          delivery.tenantId,
          delivery.id,
          'failed',
          `bounced: ${signal.reason}`,
          client,
        );
        return { outcome: 'suppressed; delivery failed', suppressionId };
      }
      case 'complaint':
        return { outcome: 'suppressed', suppressionId: await suppressFor('complaint') };
      case 'delivered':
        await this.deliveries.applyReceipt(delivery.tenantId, delivery.id, 'delivered', null, client);
        return { outcome: 'delivery delivered' };
      default:
        return { outcome: 'noted' };
    }
  }

  private async linkedDelivery(client: PoolClient, signal: FeedbackSignal): Promise<LinkedDelivery | null> {
    const direct = signal.deliveryId ?? HERALD_MESSAGE_ID.exec(signal.providerMessageId ?? '')?.[1];
    if (direct && isUuid(direct)) {
      const found = await this.feedback.emailDeliveryById(direct, client);
      if (found) return found;
    }
    if (!signal.providerMessageId) return null;
    return this.feedback.emailDeliveryByProviderMessageId(
      [signal.providerMessageId, `<${signal.providerMessageId}>`],
      client,
    );
  }
}

/**
 * Whether a provider's address is the recipient's. Normalized as suppressions are; the local part is
 * compared without case too, since providers report it as the receiving server wrote it.
 */
function sameMailbox(reported: string, recipient: string): boolean {
  const a = normalizeAddress('email', reported);
  const b = normalizeAddress('email', recipient);
  return a !== null && b !== null && a.toLowerCase() === b.toLowerCase();
}
