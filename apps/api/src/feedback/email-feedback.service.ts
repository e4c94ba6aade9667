import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import type { FeedbackSignal } from '@herald/channels';
import { isUuid } from '@herald/core';
import { PG_POOL, inTransaction, recordFeedback, suppress } from '@herald/db';

interface LinkedDelivery {
  id: string;
  tenantId: string;
  status: string;
}

// Herald's own Message-ID header is `<deliveryId@herald>`: providers that echo the original
// headers (SES commonHeaders, the generic form) lead straight to the delivery.
const HERALD_MESSAGE_ID = /^<?([0-9a-f-]{36})@herald>?$/i;

/**
 * Applies an email provider's asynchronous signal: links it to the delivery it is about, changes
 * what Herald does next (suppression), marks the delivery, and keeps the signal for the record.
 * A signal about a message Herald does not know is kept and otherwise ignored.
 */
@Injectable()
export class EmailFeedbackService {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async apply(signal: FeedbackSignal, payload: unknown): Promise<string> {
    return inTransaction(this.pool, async (client) => {
      const delivery = await this.linkedDelivery(client, signal);
      const base = {
        source: signal.source,
        kind: signal.kind,
        channel: signal.channel,
        address: signal.address,
        providerMessageId: signal.providerMessageId,
        payload,
      };
      if (!delivery) {
        await recordFeedback(client, { ...base, tenantId: null, outcome: 'ignored: unknown message' });
        return 'ignored';
      }
      const { outcome, suppressionId } = await this.act(client, signal, delivery);
      await recordFeedback(client, {
        ...base,
        tenantId: delivery.tenantId,
        deliveryId: delivery.id,
        suppressionId,
        outcome,
      });
      return outcome;
    });
  }

  private async act(
    client: PoolClient,
    signal: FeedbackSignal,
    delivery: LinkedDelivery,
  ): Promise<{ outcome: string; suppressionId?: string | null }> {
    const suppressFor = (reason: 'hard_bounce' | 'complaint') =>
      suppress(client, {
        tenantId: delivery.tenantId,
        channel: 'email',
        address: signal.address,
        reason,
        source: signal.source,
        detail: signal.reason,
        deliveryId: delivery.id,
      });
    switch (signal.kind) {
      case 'bounce': {
        if (!signal.permanent) return { outcome: 'noted: transient bounce' };
        const suppressionId = await suppressFor('hard_bounce');
        await this.setStatus(client, delivery.id, ['sent'], 'failed', `bounced: ${signal.reason}`);
        return { outcome: 'suppressed; delivery failed', suppressionId };
      }
      case 'complaint':
        return { outcome: 'suppressed', suppressionId: await suppressFor('complaint') };
      case 'delivered':
        await this.setStatus(client, delivery.id, ['sent'], 'delivered', null);
        return { outcome: 'delivery delivered' };
      default:
        return { outcome: 'noted' };
    }
  }

  private async linkedDelivery(client: PoolClient, signal: FeedbackSignal): Promise<LinkedDelivery | null> {
    const direct = signal.deliveryId ?? HERALD_MESSAGE_ID.exec(signal.providerMessageId ?? '')?.[1];
    const select = `SELECT id, tenant_id AS "tenantId", status FROM deliveries`;
    if (direct && isUuid(direct)) {
      const { rows } = await client.query<LinkedDelivery>(`${select} WHERE id = $1 AND channel = 'email'`, [direct]);
      if (rows[0]) return rows[0];
    }
    if (!signal.providerMessageId) return null;
    const { rows } = await client.query<LinkedDelivery>(
      `${select} WHERE provider_message_id = ANY($1::text[]) AND channel = 'email' LIMIT 1`,
      [[signal.providerMessageId, `<${signal.providerMessageId}>`]],
    );
    return rows[0] ?? null;
  }

  private async setStatus(
    client: PoolClient,
    deliveryId: string,
    from: string[],
    to: string,
    lastError: string | null,
  ): Promise<void> {
    await client.query(
      `UPDATE deliveries SET status = $3, last_error = COALESCE($4, last_error), updated_at = now()
       WHERE id = $1 AND status = ANY($2::text[])`,
      [deliveryId, from, to, lastError],
    );
  }
}
