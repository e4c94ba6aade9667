import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { SpanKind } from '@opentelemetry/api';
import type { Pool } from 'pg';
import type { SendResult } from '@herald/channels';
import { HERALD_CONFIG, HeraldMetrics, inSpan, type HeraldConfig } from '@herald/config';
import { retryDelay } from '@herald/core';
import { PG_POOL, inTransaction } from '@herald/db';
import { buildMessage, Undeliverable, type ExternalChannel } from './channel-messages';
import { providerToken, type AnyProvider } from './channel-providers';
import { finishDelivery, type ClaimedDelivery } from './delivery-claim';
import type { DeliveryContext } from './delivery-context';
import { applySendFeedback } from './send-feedback';

export type ExternalOutcome = 'sent' | 'failed' | 'skipped' | 'suppressed' | 'retry' | 'dead';

export interface ExternalResult {
  outcome: ExternalOutcome;
  result?: SendResult;
  /** 'retry': how long until the next attempt */
  retryInMs?: number;
}

/**
 * Email, SMS, push and webhook: render, call the channel's provider once, and record what it
 * answered. A retryable answer is retried after the provider's Retry-After or our backoff until
 * the channel's attempt budget is spent, then the delivery is dead. The runner moves the job.
 */
@Injectable()
export class DeliverExternalUseCase {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    @Inject(HeraldMetrics) private readonly metrics: HeraldMetrics,
  ) {}

  async deliver(delivery: ClaimedDelivery, context: DeliveryContext): Promise<ExternalResult> {
    const channel = delivery.channel as ExternalChannel;
    const provider = this.moduleRef.get<AnyProvider>(providerToken(channel), { strict: false });
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

    const timer = this.metrics.providerLatency.startTimer({ channel, provider: provider.name });
    const result = await inSpan(
      'herald.provider.send',
      { kind: SpanKind.CLIENT, attributes: { 'herald.channel': channel, 'herald.provider': provider.name } },
      async (span) => {
        const sent = await provider.send(
          { id: delivery.id, tenantId: delivery.tenantId, eventId: delivery.eventId, attempt: delivery.attempt },
          message,
        );
        span.setAttribute('herald.provider.outcome', sent.outcome);
        return sent;
      },
    );
    timer({ outcome: result.outcome });
    const attempt = {
      outcome: result.outcome,
      provider: provider.name,
      code: result.code,
      message: [result.message, targetSummary(result)].filter(Boolean).join(' — ') || undefined,
    };
    const attemptsUsed = delivery.attempt - delivery.attemptFloor;
    const budgetSpent = attemptsUsed >= this.config.retry.maxAttempts[channel];
    const outcome: ExternalOutcome =
      result.outcome === 'ok' ? 'sent' : result.outcome === 'retryable' ? (budgetSpent ? 'dead' : 'retry') : 'failed';
    const retryInMs =
      outcome === 'retry' ? retryDelay(attemptsUsed, this.config.retry, result.retryAfterMs) : undefined;
    await inTransaction(this.pool, async (client) => {
      await finishDelivery(client, delivery, {
        status: outcome === 'retry' ? 'queued' : outcome,
        attempt,
        providerMessageId: result.providerMessageId,
        notBefore: retryInMs === undefined ? undefined : new Date(Date.now() + retryInMs),
      });
      await applySendFeedback(client, delivery, message, result, this.config);
    });
    return { outcome, result, retryInMs };
  }
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
