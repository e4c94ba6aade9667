import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { isUuid } from '@herald/core';
import { PG_POOL } from '@herald/db';
import { QueueClients, QueueName } from '@herald/queue';
import { Problem } from '../http/problem';
import { EventsQuery } from './events.query';

// Only an event the fan-out has not touched: still `accepted` and without a single delivery.
const CANCEL = `
UPDATE events SET status = 'cancelled', updated_at = now()
WHERE id = $1 AND tenant_id = $2 AND status = 'accepted'
  AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $1)`;

// Removing the delayed fan-out job is a courtesy (the fan-out skips cancelled events anyway), so a
// Redis that does not answer must not hold the request.
const JOB_REMOVAL_TIMEOUT_MS = 2000;

/** Cancelling an event: a write to its status, kept apart from EventsQuery, which only reads. */
@Injectable()
export class CancelEventUseCase {
  private readonly logger = new Logger('events');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(QueueClients) private readonly queues: QueueClients,
    @Inject(EventsQuery) private readonly events: EventsQuery,
  ) {}

  /**
   * Cancels an event the fan-out has not yet run for (typically one with a future `sendAt`): it
   * becomes `cancelled` and nothing is sent for it. Cancelling a cancelled event answers the same;
   * an event already routed (or being routed) is a 409.
   */
  async cancel(tenantId: string, id: string) {
    if (!isUuid(id)) throw Problem.notFound(`Event ${id}`);
    const { rowCount } = await this.pool.query(CANCEL, [id, tenantId]);
    const event = await this.events.get(tenantId, id);
    if (event.status !== 'cancelled') {
      throw new Problem(
        409,
        'event-not-cancellable',
        'Event can no longer be cancelled',
        `Event ${id} is ${event.status}${event.deliveries.length ? ' with deliveries' : ''}: only an event whose fan-out has not run can be cancelled`,
      );
    }
    if (rowCount) await this.removeFanoutJob(id);
    return event;
  }

  private async removeFanoutJob(eventId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Redis did not answer')), JOB_REMOVAL_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.queues.get(QueueName.Fanout).remove(eventId), timeout]);
    } catch (err) {
      this.logger.warn(
        `cancelled event ${eventId}: its fan-out job stays (${(err as Error).message}) and will skip it`,
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
