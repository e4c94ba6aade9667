import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { newId } from '@herald/core';
import { PG_POOL } from './pg-pool';

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
  /**
   * The provider's id of the message that carried the signal (SNS MessageId, SendGrid sg_event_id), to
   * record one message once: give it on the first row a message records, in the transaction that acts on it.
   */
  messageId?: string;
}

// One row per provider signal; a source's message recorded already (a provider's retry) writes nothing.
const INSERT_FEEDBACK_EVENT = `
INSERT INTO feedback_events
  (id, tenant_id, source, kind, channel, address, provider_message_id, delivery_id, suppression_id, outcome, payload,
   message_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (source, message_id) DO NOTHING`;

/**
 * Keeps a provider's signal, linked to the delivery and the suppression it caused. Returns its id, or
 * null when the source's message id is recorded already (a provider's retry): the unique index on
 * (source, message_id) decides, waiting for a concurrent copy's transaction to end first.
 */
export async function recordFeedback(db: Pool | PoolClient, event: FeedbackEventInput): Promise<string | null> {
  const id = newId();
  const { rowCount } = await db.query(INSERT_FEEDBACK_EVENT, [
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
    event.messageId ?? null,
  ]);
  return rowCount ? id : null;
}

/**
 * Provider signals: a system repository, as a signal may name no tenant (an SNS subscription note), or one found
 * from what it reports. Runs in the caller's transaction when given its client.
 */
@Injectable()
export class FeedbackEventsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** System: keeps the signal (recordFeedback); null when the source's message id is recorded already. */
  record(event: FeedbackEventInput, client: Pool | PoolClient = this.pool): Promise<string | null> {
    return recordFeedback(client, event);
  }
}
