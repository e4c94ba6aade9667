import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import type { Pool } from 'pg';
import type { ChannelMessages, SendResult } from '@herald/channels';
import { HERALD_CONFIG, HeraldMetrics, inSpan, type HeraldConfig } from '@herald/config';
import { retryDelay } from '@herald/core';
import { PG_POOL, inTransaction, whileDatabaseUnavailable } from '@herald/db';
import { buildMessage, Undeliverable, type ExternalChannel } from './channel-messages';
import { ProviderChain, providerToken, type AnyProvider } from './channel-providers';
import { finishDelivery, insertAttempt, renewLease, type AttemptRecord, type ClaimedDelivery } from './delivery-claim';
import type { DeliveryContext } from './delivery-context';
import { applySendFeedback } from './send-feedback';

export type ExternalOutcome = 'sent' | 'failed' | 'skipped' | 'suppressed' | 'retry' | 'dead';

export interface ExternalResult {
  outcome: ExternalOutcome;
  result?: SendResult;
  /** 'retry': how long until the next attempt */
  retryInMs?: number;
}

type ChannelMessage = ChannelMessages[ExternalChannel];

// A failover inside one run: the failed provider's attempt row, and the claim moved on to the next
// attempt number (its lease renewed), in one statement; nothing when the claim was lost meanwhile.
const FAIL_OVER = `
WITH next AS (
  UPDATE deliveries SET attempts = attempts + 1, lease_until = now() + make_interval(secs => $2), updated_at = now()
  WHERE id = $1 AND status = 'sending' AND attempts = $3
  RETURNING attempts
), attempted AS (
  ${insertAttempt(['$1', '$3', '$4', '$5', '$6', '$7'], 'EXISTS (SELECT 1 FROM next)')}
)
SELECT attempts FROM next`;

/**
 * Email, SMS, push and webhook: render, call the channel's providers in order, and record what each
 * answered. A retryable answer moves the delivery to the next provider at once (a channel with
 * fallbacks); when the last one also answers retryable the delivery is retried after the provider's
 * Retry-After or our backoff until the channel's attempt budget is spent, then it is dead. Every
 * provider call is an attempt. The runner moves the job.
 */
@Injectable()
export class DeliverExternalUseCase {
  private readonly logger = new Logger('delivery');

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(HeraldMetrics) private readonly metrics: HeraldMetrics,
  ) {}

  async deliver(delivery: ClaimedDelivery, context: DeliveryContext): Promise<ExternalResult> {
    const channel = delivery.channel as ExternalChannel;
    const chain = this.moduleRef.get<ProviderChain>(providerToken(channel), { strict: false });
    let message;
    try {
      message = await buildMessage(this.pool, delivery, context);
    } catch (err) {
      if (!(err instanceof Undeliverable)) throw err;
      await finishDelivery(this.pool, delivery, {
        status: err.status,
        reason: err.message,
        attempt:
          err.status === 'failed'
            ? { outcome: 'permanent', provider: 'herald', code: err.code, message: err.message }
            : undefined,
      });
      return { outcome: err.status };
    }

    // Down the chain while providers answer retryable and the budget lasts: each call is an attempt row.
    const providers = chain.ordered();
    let current = delivery;
    for (let i = 0; ; i++) {
      const provider = providers[i];
      const result = await this.send(provider, current, message);
      if (chain.record(provider, result.outcome !== 'retryable')) {
        this.logger.warn(`${channel} provider ${provider.name}: circuit open, tried last for the cool-down`);
      }
      const attempt = {
        outcome: result.outcome,
        provider: provider.name,
        code: result.code,
        message: [result.message, targetSummary(result)].filter(Boolean).join(' — ') || undefined,
      };
      const attemptsUsed = current.attempt - current.attemptFloor;
      const budgetSpent = attemptsUsed >= this.config.retry.maxAttempts[channel];
      const next = providers[i + 1];
      if (result.outcome === 'retryable' && next && !budgetSpent) {
        const failedOver = await failOver(this.pool, current, attempt, this.config.deliveryLeaseSeconds);
        if (failedOver) {
          current = failedOver;
          continue;
        }
      }
      const outcome: ExternalOutcome =
        result.outcome === 'ok' ? 'sent' : result.outcome === 'retryable' ? (budgetSpent ? 'dead' : 'retry') : 'failed';
      const retryInMs =
        outcome === 'retry' ? retryDelay(attemptsUsed, this.config.retry, result.retryAfterMs) : undefined;
      // The provider has answered: a short Postgres outage must not lose that answer (the lease would
      // run out and the message go again), so recording it is retried for up to half the lease.
      const record = () =>
        inTransaction(this.pool, async (client) => {
          await finishDelivery(client, current, {
            status: outcome === 'retry' ? 'queued' : outcome,
            attempt,
            providerMessageId: result.providerMessageId,
            notBefore: retryInMs === undefined ? undefined : new Date(Date.now() + retryInMs),
          });
          await applySendFeedback(client, current, message, result, this.config);
        });
      await whileDatabaseUnavailable(record, (this.config.deliveryLeaseSeconds * 1000) / 2);
      return { outcome, result, retryInMs };
    }
  }

  /** One provider call, in a `herald.provider.send` span and timed for herald_provider_latency_seconds. */
  private async send(provider: AnyProvider, delivery: ClaimedDelivery, message: ChannelMessage): Promise<SendResult> {
    const channel = provider.channel;
    const timer = this.metrics.providerLatency.startTimer({ channel, provider: provider.name });
    const result = await inSpan(
      'herald.provider.send',
      { kind: SpanKind.CLIENT, attributes: { 'herald.channel': channel, 'herald.provider': provider.name } },
      async (span) => {
        const sent = await this.whileLeased(delivery, () =>
          provider.send(
            { id: delivery.id, tenantId: delivery.tenantId, eventId: delivery.eventId, attempt: delivery.attempt },
            message,
          ),
        );
        span.setAttribute('herald.provider.outcome', sent.outcome);
        return sent;
      },
    );
    timer({ outcome: result.outcome });
    return result;
  }

  /**
   * Renews the claim's lease every third of it while `send` runs, so a slow provider call (an SMTP
   * server taking its time) is not mistaken for a dead worker and sent again by another one.
   */
  private async whileLeased<T>(delivery: ClaimedDelivery, send: () => Promise<T>): Promise<T> {
    const seconds = this.config.deliveryLeaseSeconds;
    const renewal = setInterval(
      () => {
        renewLease(this.pool, delivery, seconds).then(
          (held) => held || this.logger.warn(`delivery ${delivery.id}: lease lost during the send (taken over)`),
          () => undefined, // a failed renewal is tried again at the next tick
        );
      },
      (seconds * 1000) / 3,
    );
    renewal.unref();
    try {
      return await send();
    } finally {
      clearInterval(renewal);
    }
  }
}

/** Records a retryable answer and takes the next attempt number, or returns null when the claim was lost. */
async function failOver(
  pool: Pool,
  delivery: ClaimedDelivery,
  { outcome, provider, code, message }: AttemptRecord,
  leaseSeconds: number,
): Promise<ClaimedDelivery | null> {
  const { rows } = await pool.query<{ attempts: number }>(FAIL_OVER, [
    delivery.id,
    leaseSeconds,
    delivery.attempt,
    outcome,
    provider,
    code ?? null,
    message ?? null,
  ]);
  return rows[0] ? { ...delivery, attempt: rows[0].attempts } : null;
}

/** For a push send, the per-token answers in one line. */
function targetSummary(result: SendResult): string | undefined {
  if (!result.targets?.length) return undefined;
  return result.targets.map((t) => `${shortToken(t.target)}: ${t.outcome}${t.code ? ` (${t.code})` : ''}`).join('; ');
}

/** Real FCM tokens run to ~160 characters: the head is enough to tell a subscriber's devices apart. */
function shortToken(token: string): string {
  return token.length <= 24 ? token : `${token.slice(0, 16)}…`;
}
