import { Inject, Injectable } from '@nestjs/common';
import { Client, type Pool, type PoolClient } from 'pg';
import { PG_POOL } from './pg-pool';
import { inTransaction } from './transaction';

export interface OutboxRow {
  id: number;
  eventId: string;
  tenantId: string;
  sendAt: Date | null;
  traceParent: string | null;
  correlationId: string | null;
}

/** A relay's LISTEN connection (OutboxRepository.listen). */
export interface OutboxListener {
  /** Ends the connection; `onLost` is not called for it. */
  close(): Promise<void>;
}

// SKIP LOCKED lets any number of relays drain the outbox side by side, each taking rows no other relay
// holds; a relay that dies mid-batch rolls back and its rows become visible again. Exported for the
// periodic-queries test (an index must bound it).
export const CLAIM_OUTBOX = `
SELECT o.id, o.event_id AS "eventId", o.tenant_id AS "tenantId", e.send_at AS "sendAt",
  e.trace_parent AS "traceParent", e.correlation_id AS "correlationId"
FROM outbox o JOIN events e ON e.id = o.event_id
WHERE o.published_at IS NULL
ORDER BY o.id
LIMIT $1
FOR UPDATE OF o SKIP LOCKED`;
export const MARK_PUBLISHED = `UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])`;

// The outbox's trigger NOTIFYs this channel when a transaction that wrote outbox rows commits (the init migration).
const LISTEN_OUTBOX = 'LISTEN herald_outbox';

/**
 * The relay's statements: a system repository (docs/architecture.md, "Tenant-scoped and system repositories"), since
 * the outbox is every tenant's. Claim and mark run in the relay's transaction, which holds the claimed rows until
 * they are marked; the relay is woken by a LISTEN on a connection of its own.
 */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Runs a drain in one transaction: the rows it claims stay locked (other relays skip them) until it marks them
   * and commits; a drain that fails rolls back, leaving them for the next.
   */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  /** System: up to `limit` unpublished rows no other relay holds, oldest first, locked until the transaction ends. */
  async claim(client: PoolClient, limit: number): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>({ name: 'outbox-claim', text: CLAIM_OUTBOX, values: [limit] });
    return rows;
  }

  /** System: the claimed rows are out; in the claim's transaction. */
  async markPublished(client: PoolClient, ids: number[]): Promise<void> {
    await client.query({ name: 'outbox-mark-published', text: MARK_PUBLISHED, values: [ids] });
  }

  /**
   * System: LISTENs for committed outbox rows on a dedicated connection to the pool's database (a pooled one would
   * be handed to others), calling `onNotify` for each notification. When the connection cannot be opened, fails or
   * ends, it is closed and `onLost` is called once: the caller opens another (polling covers the gap).
   */
  listen(onNotify: () => void, onLost: () => void): OutboxListener {
    const client = new Client({ connectionString: this.pool.options.connectionString });
    let done = false;
    const drop = () => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      return client.end().catch(() => undefined);
    };
    const lost = () => {
      if (done) return;
      done = true;
      void drop();
      onLost();
    };
    client.on('notification', onNotify);
    client.on('error', lost);
    client.on('end', lost);
    client
      .connect()
      .then(() => client.query(LISTEN_OUTBOX))
      .catch(lost);
    return {
      close: () => {
        done = true;
        return drop();
      },
    };
  }
}
