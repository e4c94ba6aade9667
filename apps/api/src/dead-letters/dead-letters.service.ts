import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Channel } from '@herald/core';
import { DeadLettersRepository, DeliveriesRepository, type DeliveryToQueue } from '@herald/db';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { QueueClients, QueueName, enqueueDeliveryBatches, ensureDeliveryJob } from '@herald/queue';
import { decodeCursor, pageOf } from '../http/cursor';
import { Problem } from '../http/problem';

export interface DeadLetterFilter {
  channel?: Channel;
  eventType?: string;
}

/**
 * The dead-letter queue as operators see it. Postgres is the record (status `dead`); the
 * `dead-letter` BullMQ queue holds copies for queue tooling and is kept in step here.
 */
@Injectable()
export class DeadLettersService {
  private readonly logger = new Logger('dead-letters');

  constructor(
    private readonly deadLetters: DeadLettersRepository,
    private readonly deliveries: DeliveriesRepository,
    private readonly queues: QueueClients,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
  ) {}

  async list(tenantId: string, filter: DeadLetterFilter & { cursor?: string; limit: number }) {
    const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const rows = await this.deadLetters.page(tenantId, filter, after, filter.limit);
    const { page, nextCursor } = pageOf(rows, filter.limit, (row) => row.updatedAt);
    return {
      items: page.map((d) => ({
        deliveryId: d.id,
        eventId: d.eventId,
        eventType: d.event.type,
        channel: d.channel,
        subscriberId: d.subscriberId ?? undefined,
        endpointId: d.endpointId ?? undefined,
        attempts: d.attempts,
        lastError: d.lastError ?? undefined,
        lastAttempt: d.attemptsLog[0]
          ? {
              at: d.attemptsLog[0].at,
              outcome: d.attemptsLog[0].outcome,
              provider: d.attemptsLog[0].provider ?? undefined,
              code: d.attemptsLog[0].code ?? undefined,
              message: d.attemptsLog[0].message ?? undefined,
            }
          : undefined,
        deadAt: d.updatedAt,
      })),
      nextCursor,
    };
  }

  async replayOne(tenantId: string, deliveryId: string): Promise<{ deliveryId: string; status: 'queued' }> {
    const revived = await this.deliveries.replayDead(tenantId, deliveryId);
    if (revived.length === 0) await this.notDead(tenantId, deliveryId);
    await this.requeue(revived);
    return { deliveryId, status: 'queued' };
  }

  /** Replays every matching dead delivery that died before `before`, in bounded batches. */
  async replayMatching(tenantId: string, filter: DeadLetterFilter & { before?: Date }): Promise<{ replayed: number }> {
    // Replayed deliveries that die again during this call are newer than `before`: not picked twice.
    const before = filter.before ?? new Date();
    let replayed = 0;
    for (;;) {
      const revived = await this.deliveries.replayDeadMatching(tenantId, {
        before,
        channel: filter.channel ?? null,
        eventType: filter.eventType ?? null,
      });
      if (revived.length === 0) return { replayed };
      await this.requeue(revived);
      replayed += revived.length;
    }
  }

  /** The operator gives up on a dead delivery: it ends `failed`, with the reason kept. */
  async purge(tenantId: string, deliveryId: string): Promise<void> {
    if (!(await this.deliveries.purgeDead(tenantId, deliveryId))) await this.notDead(tenantId, deliveryId);
    await this.queues.get(QueueName.DeadLetter).remove(deliveryId);
  }

  /**
   * Hands revived deliveries to their channel queues. If Redis is away they stay `queued` in
   * Postgres, and the housekeeping sweep enqueues them once it is back: a replay is never lost.
   */
  private async requeue(deliveries: DeliveryToQueue[]): Promise<void> {
    try {
      const dlq = this.queues.get(QueueName.DeadLetter);
      await Promise.all(deliveries.map((d) => dlq.remove(d.id)));
      if (deliveries.length === 1) await ensureDeliveryJob(this.queues.deliveries, deliveries[0]);
      else {
        const batch = deliveries.map((d) => ({ ...d, lane: 'normal' as const }));
        await enqueueDeliveryBatches(this.queues.deliveries, batch, this.config.deliveryJobSize);
      }
    } catch (err) {
      this.logger.warn(`replayed deliveries left for the housekeeping sweep: ${(err as Error).message}`);
    }
  }

  private async notDead(tenantId: string, deliveryId: string): Promise<never> {
    const status = await this.deadLetters.statusOf(tenantId, deliveryId);
    if (status === null) throw Problem.notFound(`Delivery ${deliveryId}`);
    throw new Problem(
      409,
      'not-dead',
      'The delivery is not in the dead-letter queue',
      `delivery ${deliveryId} is ${status}`,
    );
  }
}
