import { Injectable, Logger } from '@nestjs/common';
import { isUuid } from '@herald/core';
import { EventsRepository } from '@herald/db';
import { QueueClients, QueueName } from '@herald/queue';
import { Problem } from '../http/problem';
import { EventsQuery } from './events.query';

// Removing the delayed fan-out job is a courtesy (the fan-out skips cancelled events anyway), so a
// Redis that does not answer must not hold the request.
const JOB_REMOVAL_TIMEOUT_MS = 2000;

/** Cancelling an event: a write to its status, kept apart from EventsQuery, which only reads. */
@Injectable()
export class CancelEventUseCase {
  private readonly logger = new Logger('events');

  constructor(
    private readonly eventRows: EventsRepository,
    private readonly queues: QueueClients,
    private readonly events: EventsQuery,
  ) {}

  /**
   * Cancels an event the fan-out has not yet run for (typically one with a future `sendAt`): it
   * becomes `cancelled` and nothing is sent for it. Cancelling a cancelled event answers the same;
   * an event already routed (or being routed) is a 409.
   */
  async cancel(tenantId: string, id: string) {
    if (!isUuid(id)) throw Problem.notFound(`Event ${id}`);
    const cancelled = await this.eventRows.cancel(tenantId, id);
    const event = await this.events.get(tenantId, id);
    if (event.status !== 'cancelled') {
      throw new Problem(
        409,
        'event-not-cancellable',
        'Event can no longer be cancelled',
        `Event ${id} is ${event.status}${event.deliveries.length ? ' with deliveries' : ''}: only an event whose fan-out has not run can be cancelled`,
      );
    }
    if (cancelled) await this.removeFanoutJob(id);
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
