import { Inject, Injectable } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import { PG_POOL } from './pg-pool';
import { inTransaction } from './transaction';

/** What runs a statement: the pool, or the client of a transaction the caller holds. */
type Queryable = Pool | PoolClient;

/** The delivery an email provider's signal is about, and the address it went to. */
export interface EmailFeedbackDelivery {
  id: string;
  tenantId: string;
  status: string;
  /** the address the delivery was sent to: its subscriber's email (null when the subscriber is gone) */
  recipient: string | null;
}

/** The delivery a carrier's receipt is about, with what its retry budget needs. */
export interface SmsFeedbackDelivery {
  id: string;
  tenantId: string;
  status: string;
  attempts: number;
  attemptFloor: number;
}

// Deliveries keep no address: the worker sends email to the subscriber's address, so that is the recipient.
const EMAIL_DELIVERY = `
SELECT d.id, d.tenant_id AS "tenantId", d.status, s.email AS recipient
FROM deliveries d
LEFT JOIN subscribers s ON s.tenant_id = d.tenant_id AND s.subscriber_id = d.subscriber_id`;

const EMAIL_DELIVERY_BY_ID = `${EMAIL_DELIVERY} WHERE d.id = $1 AND d.channel = 'email'`;

const EMAIL_DELIVERY_BY_PROVIDER_ID = `${EMAIL_DELIVERY}
WHERE d.provider_message_id = ANY($1::text[]) AND d.channel = 'email' LIMIT 1`;

// Locked: two receipts for one message (a provider's retry) apply one after the other.
const SMS_DELIVERY_FOR_UPDATE = `
SELECT id, tenant_id AS "tenantId", status, attempts, attempt_floor AS "attemptFloor"
FROM deliveries WHERE provider_message_id = $1 AND channel = 'sms' FOR UPDATE`;

/**
 * System (spans tenants by nature): what a provider's callback finds before it knows the tenant — the
 * delivery a signal is about (the tenants sending from a number are SmsSendersRepository's). The tenant comes from what is found;
 * the changes that follow (a delivery's status, a suppression) are tenant-scoped. Each method runs in the
 * caller's transaction when given its client.
 */
@Injectable()
export class ProviderFeedbackRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * Runs `work` in one transaction: a callback's look-up, the changes it causes (a delivery's status, a
   * suppression) and the signal's record commit together, or not at all.
   */
  transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.pool, work);
  }

  /** System: the email delivery with this id (Herald's Message-ID names it), whichever tenant's. */
  async emailDeliveryById(deliveryId: string, client: Queryable = this.pool): Promise<EmailFeedbackDelivery | null> {
    const { rows } = await client.query<EmailFeedbackDelivery>(EMAIL_DELIVERY_BY_ID, [deliveryId]);
    return rows[0] ?? null;
  }

  /** System: an email delivery whose provider message id is one of `ids` (a provider's own id, with or without <>). */
  async emailDeliveryByProviderMessageId(
    ids: string[],
    client: Queryable = this.pool,
  ): Promise<EmailFeedbackDelivery | null> {
    const { rows } = await client.query<EmailFeedbackDelivery>(EMAIL_DELIVERY_BY_PROVIDER_ID, [ids]);
    return rows[0] ?? null;
  }

  /** System: the SMS delivery with this provider message id (Twilio's MessageSid), locked for the caller's transaction. */
  async lockSmsDelivery(messageSid: string, client: Queryable = this.pool): Promise<SmsFeedbackDelivery | null> {
    const { rows } = await client.query<SmsFeedbackDelivery>(SMS_DELIVERY_FOR_UPDATE, [messageSid]);
    return rows[0] ?? null;
  }
}
