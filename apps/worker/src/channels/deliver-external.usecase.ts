import { Inject, Injectable, Logger } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import type { ChannelMessages, SendResult } from '@herald/channels';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics, inSpan } from '@herald/observability';
import { Semaphore, retryDelay } from '@herald/core';
import { DeliveriesRepository, DeliveryContextRepository, type ClaimedDelivery } from '@herald/db';
import { batchLookups, buildMessage, Undeliverable, type BatchLookups, type ExternalChannel } from './channel-messages';
import { ProviderChain, ProviderChains, type AnyProvider } from './channel-providers';
import type { DeliveryContext } from './delivery-context';
import type { Finished } from './delivery-batch';
import { OutcomeRecorder } from './outcome-recorder';
import { RateLimitGate } from './rate-limit-gate';

type ChannelMessage = ChannelMessages[ExternalChannel];

/**
 * Email, SMS, push and webhook, a batch at a time: the batch's suppressions (or push tokens) read once,
 * then each delivery rendered and sent, at most CONCURRENCY_<CHANNEL> sends in flight per process,
 * and each answer recorded as it comes (OutcomeRecorder group-commits them). A send goes down the
 * channel's providers while they answer retryable (a channel with fallbacks); when the last one also
 * answers retryable the delivery is retried after the provider's Retry-After or our backoff, on its own,
 * until the channel's attempt budget is spent, then it is dead. Every provider call is an attempt.
 */
@Injectable()
export class DeliverExternalUseCase {
  private readonly logger = new Logger('delivery');
  private readonly inFlight = new Map<ExternalChannel, Semaphore>();

  constructor(
    private readonly deliveries: DeliveriesRepository,
    private readonly contexts: DeliveryContextRepository,
    private readonly recorder: OutcomeRecorder,
    private readonly rates: RateLimitGate,
    private readonly chains: ProviderChains,
    @Inject(HERALD_CONFIG) private readonly config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
  ) {}

  /**
   * Sends a batch; returns how each claim ended. `whileSending` wraps each send (the caller's span and
   * lease bookkeeping).
   */
  async deliver(
    tenantId: string,
    channel: ExternalChannel,
    items: { delivery: ClaimedDelivery; context: DeliveryContext }[],
    whileSending: <T>(delivery: ClaimedDelivery, send: () => Promise<T>) => Promise<T>,
  ): Promise<Finished[]> {
    const lookups = await batchLookups(this.contexts, tenantId, channel, items);
    const chain = this.chains.of(channel);
    const slots = this.slots(channel);
    return Promise.all(
      items.map(({ delivery, context }) =>
        slots.run(() => whileSending(delivery, () => this.deliverOne(chain, delivery, context, lookups))),
      ),
    );
  }

  private async deliverOne(
    chain: ProviderChain,
    delivery: ClaimedDelivery,
    context: DeliveryContext,
    lookups: BatchLookups,
  ): Promise<Finished> {
    const channel = delivery.channel as ExternalChannel;
    let message: ChannelMessage;
    try {
      message = await buildMessage(delivery, context, lookups);
    } catch (err) {
      if (!(err instanceof Undeliverable)) throw err;
      const end = {
        status: err.status,
        reason: err.message,
        attempt:
          err.status === 'failed'
            ? { outcome: 'permanent' as const, provider: 'herald', code: err.code, message: err.message }
            : undefined,
      };
      await this.recorder.record({ delivery, end });
      return { delivery, end };
    }

    // Down the chain while providers answer retryable and the budget lasts: each call is an attempt row.
    const providers = chain.ordered();
    let current = delivery;
    for (let i = 0; ; i++) {
      const provider = providers[i]!;
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
        const failedOver = await this.deliveries.failOver(current, attempt, this.config.deliveryLeaseSeconds);
        if (failedOver) {
          current = failedOver;
          continue;
        }
      }
      const retry = result.outcome === 'retryable' && !budgetSpent;
      const status =
        result.outcome === 'ok' ? 'sent' : result.outcome === 'retryable' ? (retry ? 'queued' : 'dead') : 'failed';
      const retryInMs = retry ? retryDelay(attemptsUsed, this.config.retry, result.retryAfterMs) : undefined;
      const end = {
        status,
        attempt,
        providerMessageId: result.providerMessageId,
        notBefore: retryInMs === undefined ? undefined : new Date(Date.now() + retryInMs),
      } as const;
      const answer = { delivery: current, message, result, endpointFailures: context.endpoint?.failures };
      await this.recorder.record({ delivery: current, end, answer });
      return { delivery: current, end, retryInMs, result };
    }
  }

  /** One provider call, in a `herald.provider.send` span and timed for herald_provider_latency_seconds. */
  private async send(provider: AnyProvider, delivery: ClaimedDelivery, message: ChannelMessage): Promise<SendResult> {
    const channel = provider.channel;
    await this.rates.providerSlot(channel, `${delivery.id}:${delivery.attempt}`);
    const timer = this.metrics.providerLatency.startTimer({ channel, provider: provider.name });
    const result = await inSpan(
      'herald.provider.send',
      { kind: SpanKind.CLIENT, attributes: { 'herald.channel': channel, 'herald.provider': provider.name } },
      async (span) => {
        const sent = await provider
          .send(
            { id: delivery.id, tenantId: delivery.tenantId, eventId: delivery.eventId, attempt: delivery.attempt },
            message,
          )
          .catch(
            // An adapter classifies what its provider says; anything it did not foresee is one retryable
            // attempt of this delivery, not the failure of its whole batch.
            (err: Error): SendResult => ({ outcome: 'retryable', code: 'exception', message: err.message }),
          );
        span.setAttribute('herald.provider.outcome', sent.outcome);
        return sent;
      },
    );
    timer({ outcome: result.outcome });
    return result;
  }

  /** Sends in flight in this process, per channel (CONCURRENCY_<CHANNEL>), whatever the number of batches. */
  private slots(channel: ExternalChannel): Semaphore {
    let semaphore = this.inFlight.get(channel);
    if (!semaphore) {
      semaphore = new Semaphore(this.config.channelConcurrency[channel]);
      this.inFlight.set(channel, semaphore);
    }
    return semaphore;
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
