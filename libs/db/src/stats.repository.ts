import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from './pg-pool';

export interface DeliveryCount {
  channel: string;
  status: string;
  count: number;
}

export interface OutboxLag {
  /** the tenant's events not yet handed to the fan-out */
  pending: number;
  /** how long the oldest of them has waited (0 when none waits) */
  lagSeconds: number;
}

// One grouped scan of the tenant's recent deliveries, over the (tenant_id, created_at) index.
const DELIVERIES_BY_CHANNEL_AND_STATUS = `
SELECT channel, status, count(*)::int AS count
FROM deliveries
WHERE tenant_id = $1 AND created_at >= now() - make_interval(secs => $2)
GROUP BY channel, status
ORDER BY channel, status`;

// Outbox rows are the events not yet handed to the fan-out; the partial index on unpublished rows
// keeps this to the (few) rows still waiting, whatever the table's size.
const OUTBOX_LAG = `
SELECT count(*)::int AS pending, COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 AS "lagSeconds"
FROM outbox WHERE tenant_id = $1 AND published_at IS NULL`;

/** The numbers of a tenant's overview (GET /v1/stats), each one statement filtered by the tenant. */
@Injectable()
export class StatsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The tenant's deliveries created in the last `windowSeconds`, counted by channel × current status. */
  async deliveriesByChannelAndStatus(tenantId: string, windowSeconds: number): Promise<DeliveryCount[]> {
    const { rows } = await this.pool.query<DeliveryCount>(DELIVERIES_BY_CHANNEL_AND_STATUS, [tenantId, windowSeconds]);
    return rows;
  }

  /** How many of the tenant's events wait in the outbox, and for how long the oldest has (unrounded). */
  async outboxLag(tenantId: string): Promise<OutboxLag> {
    const { rows } = await this.pool.query<OutboxLag>(OUTBOX_LAG, [tenantId]);
    return rows[0]!;
  }
}
