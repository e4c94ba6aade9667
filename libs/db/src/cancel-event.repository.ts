import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './pg-pool';

// Only an event the fan-out has not touched: still `accepted` and without a single delivery.
const CANCEL = `
UPDATE events SET status = 'cancelled', updated_at = now()
WHERE id = $1 AND tenant_id = $2 AND status = 'accepted'
  AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $1)`;

/** Cancelling an event: the one write to an event's status outside the fan-out, tenant-scoped. */
@Injectable()
export class CancelEventRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Cancels the tenant's event if its fan-out has not run; false when it changed nothing (gone, routed, cancelled). */
  async cancel(tenantId: string, eventId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(CANCEL, [eventId, tenantId]);
    return !!rowCount;
  }
}
