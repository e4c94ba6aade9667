import type { PoolClient } from 'pg';

export interface OutboxRow {
  id: number;
  eventId: string;
  tenantId: string;
  sendAt: Date | null;
  traceParent: string | null;
  correlationId: string | null;
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

/**
 * The relay's two statements: a system repository (docs/architecture.md, "Tenant-scoped and system repositories"), since the outbox is every tenant's.
 * Both run in the relay's transaction, which holds the claimed rows until they are marked.
 */
export const OutboxRepository = {
  /** Up to `limit` unpublished rows no other relay holds, oldest first, locked until the transaction ends. */
  async claim(client: PoolClient, limit: number): Promise<OutboxRow[]> {
    const { rows } = await client.query<OutboxRow>({ name: 'outbox-claim', text: CLAIM_OUTBOX, values: [limit] });
    return rows;
  },

  async markPublished(client: PoolClient, ids: number[]): Promise<void> {
    await client.query({ name: 'outbox-mark-published', text: MARK_PUBLISHED, values: [ids] });
  },
};
