import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { DeliveriesRepository } from '@herald/db';
import { QueueName, type DeadLetterJob } from '@herald/queue';

/**
 * Copies dead deliveries to the `dead-letter` queue (jobId = delivery id, so copying twice is a no-op).
 * Postgres already says a delivery is dead; the copy is what queue tooling (the dashboard, the DLQ depth
 * metric) sees, so it is safe to redo on a redelivered job.
 */
@Injectable()
export class DeadLetterCopier {
  constructor(
    private readonly deliveries: DeliveriesRepository,
    @InjectQueue(QueueName.DeadLetter) private readonly queue: Queue<DeadLetterJob>,
  ) {}

  async copy(deliveryIds: string[]): Promise<void> {
    const rows = await this.deliveries.deadLetterCopies(deliveryIds);
    if (rows.length) {
      await this.queue.addBulk(
        rows.map((row) => ({ name: QueueName.DeadLetter, data: row, opts: { jobId: row.deliveryId } })),
      );
    }
  }
}
