import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Pool } from 'pg';
import { PG_POOL } from '@herald/db';
import { QueueName, type DeadLetterJob } from '@herald/queue';

// The dead ones among these deliveries, as the dead-letter queue shows them.
const DEAD = `
SELECT id AS "deliveryId", tenant_id AS "tenantId", event_id AS "eventId", channel, attempts, last_error AS "lastError"
FROM deliveries WHERE id = ANY($1::uuid[]) AND status = 'dead'`;

/**
 * Copies dead deliveries to the `dead-letter` queue (jobId = delivery id, so copying twice is a no-op).
 * Postgres already says a delivery is dead; the copy is what queue tooling (the dashboard, the DLQ depth
 * metric) sees, so it is safe to redo on a redelivered job.
 */
@Injectable()
export class DeadLetterCopier {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @InjectQueue(QueueName.DeadLetter) private readonly queue: Queue<DeadLetterJob>,
  ) {}

  async copy(deliveryIds: string[]): Promise<void> {
    if (!deliveryIds.length) return;
    const { rows } = await this.pool.query<DeadLetterJob>(DEAD, [deliveryIds]);
    if (rows.length) {
      await this.queue.addBulk(
        rows.map((row) => ({ name: QueueName.DeadLetter, data: row, opts: { jobId: row.deliveryId } })),
      );
    }
  }
}
