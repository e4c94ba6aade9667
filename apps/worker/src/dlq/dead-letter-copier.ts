import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { PG_POOL } from '@herald/db';
import { QueueName, type DeadLetterJob } from '@herald/queue';

/**
 * Copies a dead delivery to the `dead-letter` queue (jobId = delivery id, so copying twice is a
 * no-op). Postgres already says the delivery is dead; the copy is what queue tooling (the
 * dashboard, the DLQ depth metric) sees, so it is safe to redo on a redelivered job.
 */
@Injectable()
export class DeadLetterCopier {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @InjectQueue(QueueName.DeadLetter) private readonly queue: Queue<DeadLetterJob>,
  ) {}

  async copy(deliveryId: string): Promise<void> {
    const { rows } = await this.pool.query<DeadLetterJob>(
      `SELECT id AS "deliveryId", tenant_id AS "tenantId", event_id AS "eventId", channel, attempts,
         last_error AS "lastError"
       FROM deliveries WHERE id = $1 AND status = 'dead'`,
      [deliveryId],
    );
    if (rows[0]) await this.queue.add(QueueName.DeadLetter, rows[0], { jobId: deliveryId });
  }
}
