import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { TemplateError, renderChannelTemplate } from '@herald/channels';
import { DeliveriesRepository, type ClaimedDelivery, type DeliveryEnd, type InappMessage } from '@herald/db';
import { createRedis, inboxChannel } from '@herald/queue';
import type { DeliveryContext } from './delivery-context';
import type { Finished } from './delivery-batch';

/**
 * In-app delivery, a batch at a time: every message rendered, then the `sent` statuses, the inbox rows
 * (id = delivery id) and the attempts of the whole batch in one statement; the live announcements follow
 * the commit, in one pipeline. Exactly once without a lease: the statement writes a message only for the
 * deliveries its own status change took (still claimable, at the attempts the batch saw), so a job run
 * twice, or side by side with another, writes each message once.
 */
@Injectable()
export class DeliverInappUseCase implements OnApplicationShutdown {
  private readonly logger = new Logger('inapp');
  private readonly redis;

  constructor(
    private readonly deliveries: DeliveriesRepository,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {
    this.redis = createRedis(config, 'inapp-publisher');
  }

  async deliver(
    tenantId: string,
    items: { delivery: ClaimedDelivery; context: DeliveryContext }[],
  ): Promise<Finished[]> {
    const finished: { delivery: ClaimedDelivery; end: DeliveryEnd }[] = [];
    const sends: { delivery: ClaimedDelivery; message: InappMessage }[] = [];
    for (const { delivery, context } of items) {
      try {
        if (!context.template) throw new TemplateError('rule', 'the event type no longer has an in-app rule');
        const rendered = (await renderChannelTemplate('inapp', context.template, context.render)) as {
          title: string;
          body: string;
          url?: string;
        };
        sends.push({
          delivery,
          message: { title: rendered.title, body: rendered.body, url: rendered.url || null, data: context.render.data },
        });
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        const attempt = { outcome: 'permanent' as const, provider: 'inapp', code: 'template', message: err.message };
        finished.push({ delivery, end: { status: 'failed', attempt } });
      }
    }
    await this.deliveries.finish(finished);
    const written = await this.deliveries.sendInapp(tenantId, sends);
    await this.announce(tenantId, written);
    // What another worker sent meanwhile (a job run twice) wrote nothing here, and is not reported as ours.
    const ours = new Set(written.map((item) => item.id));
    const sent = sends.filter(({ delivery }) => ours.has(delivery.id));
    return [...finished, ...sent.map(({ delivery }) => ({ delivery, end: { status: 'sent' as const } }))];
  }

  /** Best effort: the messages are already in the inbox; a missed announcement is seen on the next list. */
  private async announce(
    tenantId: string,
    written: Awaited<ReturnType<DeliveriesRepository['sendInapp']>>,
  ): Promise<void> {
    if (!written.length) return;
    const pipeline = this.redis.pipeline();
    for (const { subscriberId, ...item } of written) {
      const channel = inboxChannel(this.config.queuePrefix, tenantId, subscriberId);
      pipeline.publish(channel, JSON.stringify({ ...item, url: item.url ?? undefined }));
    }
    await pipeline.exec().catch((err: Error) => {
      this.logger.warn(`live inbox announcements skipped: ${err.message}`);
    });
  }

  onApplicationShutdown(): void {
    this.redis.disconnect();
  }
}
