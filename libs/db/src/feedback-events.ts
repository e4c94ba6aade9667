import type { Pool, PoolClient } from 'pg';
import { newId } from '@herald/core';

export interface FeedbackEventInput {
  tenantId: string | null;
  source: string;
  kind: string;
  channel: string;
  address?: string;
  providerMessageId?: string;
  deliveryId?: string | null;
  suppressionId?: string | null;
  /** what Herald did about it */
  outcome: string;
  /** the signal as received, secrets removed by the caller */
  payload: unknown;
}

/** Keeps a provider's signal, linked to the delivery and the suppression it caused. */
export async function recordFeedback(db: Pool | PoolClient, event: FeedbackEventInput): Promise<string> {
  const id = newId();
  await db.query(
    `INSERT INTO feedback_events
       (id, tenant_id, source, kind, channel, address, provider_message_id, delivery_id, suppression_id, outcome, payload)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      id,
      event.tenantId,
      event.source,
      event.kind,
      event.channel,
      event.address ?? null,
      event.providerMessageId ?? null,
      event.deliveryId ?? null,
      event.suppressionId ?? null,
      event.outcome,
      JSON.stringify(event.payload ?? {}),
    ],
  );
  return id;
}
