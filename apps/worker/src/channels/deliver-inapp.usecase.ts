import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { TemplateError, renderChannelTemplate } from '@herald/channels';
import { PG_POOL } from '@herald/db';
import { createRedis, inboxChannel } from '@herald/queue';
import { finishCtes, finishDelivery, finishParams, type ClaimedDelivery } from './delivery-claim';
import type { DeliveryContext } from './delivery-context';

// The inbox row, the `sent` status and the attempt in one statement: atomic as the transaction of
// three statements it replaces, in one round trip instead of five (the in-app hot path).
const WRITE_MESSAGE = `
WITH message AS (
  INSERT INTO inbox_messages (id, tenant_id, subscriber_id, event_id, title, body, url, data)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (id) DO NOTHING
  RETURNING id, title, body, url, data, created_at AS "createdAt"
), ${finishCtes(9)}
SELECT * FROM message`;

/**
 * In-app delivery: the inbox row (id = delivery id, so at most one per delivery), the `sent`
 * status and the attempt commit together; the live announcement follows the commit.
 * Exactly once: a redelivered job finds the delivery already `sent` and cannot claim it.
 */
@Injectable()
export class DeliverInappUseCase implements OnApplicationShutdown {
  private readonly logger = new Logger('inapp');
  private readonly redis;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    this.redis = createRedis(config, 'inapp-publisher');
  }

  async deliver(delivery: ClaimedDelivery, context: DeliveryContext): Promise<'sent' | 'failed'> {
    let rendered: { title: string; body: string; url?: string };
    try {
      if (!context.template) throw new TemplateError('rule', 'the event type no longer has an in-app rule');
      rendered = (await renderChannelTemplate('inapp', context.template, context.render)) as typeof rendered;
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      await finishDelivery(this.pool, delivery, {
        status: 'failed',
        attempt: { outcome: 'permanent', provider: 'inapp', code: 'template', message: err.message },
      });
      return 'failed';
    }

    const inserted = await this.pool.query(WRITE_MESSAGE, [
      delivery.id,
      delivery.tenantId,
      delivery.subscriberId,
      delivery.eventId,
      rendered.title,
      rendered.body,
      rendered.url || null,
      context.render.data,
      ...finishParams(delivery, {
        status: 'sent',
        attempt: { outcome: 'ok', provider: 'inapp' },
        providerMessageId: delivery.id,
      }),
    ]);
    const message = inserted.rows[0] as { id: string; url: string | null } | undefined;
    if (message) await this.announce(delivery, { ...message, url: message.url ?? undefined });
    return 'sent';
  }

  /** Best effort: the message is already in the inbox; a missed announcement is seen on the next list. */
  private async announce(delivery: ClaimedDelivery, item: object): Promise<void> {
    const channel = inboxChannel(this.config.queuePrefix, delivery.tenantId, delivery.subscriberId!);
    await this.redis.publish(channel, JSON.stringify(item)).catch((err: Error) => {
      this.logger.warn(`live inbox announcement skipped: ${err.message}`);
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
