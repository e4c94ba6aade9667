import type { PoolClient } from 'pg';
import type { ChannelMessages, SendResult } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import { SendFeedbackRepository, recordFeedback, suppress, type DeadToken } from '@herald/db';
import type { ExternalChannel } from './channel-messages';
import type { ClaimedDelivery } from '@herald/db';

// Twilio 21610: the recipient texted STOP. Any other dead number is simply not a valid address.
const TWILIO_OPTED_OUT = '21610';

export interface SendAnswer {
  delivery: ClaimedDelivery;
  message: ChannelMessages[ExternalChannel];
  result: SendResult;
  /** webhook: the endpoint's failures in a row when the batch read it (none to reset: nothing to write) */
  endpointFailures?: number;
}

/** Whether an answer changes anything beyond its delivery (so its recording needs more than one statement). */
export function hasSendFeedback({ delivery, result, endpointFailures = 0 }: SendAnswer): boolean {
  switch (delivery.channel) {
    case 'email':
    case 'sms':
      return result.outcome === 'bad_address';
    case 'push':
      return (result.targets ?? []).some((t) => t.outcome === 'bad_address');
    case 'webhook':
      return result.outcome !== 'ok' || endpointFailures > 0;
    default:
      return false;
  }
}

/**
 * What providers' synchronous answers say about the addresses themselves, acted on in the same
 * transaction as the attempts: a hard bounce or dead number is suppressed, dead push tokens deactivated,
 * a webhook endpoint that is gone (or keeps failing) disabled. `answers` in the order they came.
 */
export async function applySendFeedback(
  client: PoolClient,
  answers: SendAnswer[],
  config: HeraldConfig,
): Promise<void> {
  const deadTokens: DeadToken[] = [];
  const endpoints = new Map<string, EndpointAnswers>();
  for (const { delivery, message, result } of answers) {
    switch (delivery.channel) {
      case 'email':
      case 'sms':
        if (result.outcome === 'bad_address')
          await suppressAddress(client, delivery, (message as { to: string }).to, result);
        break;
      case 'push':
        for (const t of result.targets ?? []) {
          if (t.outcome !== 'bad_address') continue;
          deadTokens.push({
            tenantId: delivery.tenantId,
            token: t.target,
            reason: `${t.code ?? 'bad_address'}: ${t.message ?? ''}`.trim(),
          });
        }
        break;
      case 'webhook':
        if (delivery.endpointId) endpoints.set(delivery.endpointId, tally(endpoints.get(delivery.endpointId), result));
        break;
    }
  }
  if (deadTokens.length) await SendFeedbackRepository.deactivateDevices(client, deadTokens);
  for (const [endpointId, answered] of endpoints)
    await trackEndpoint(client, endpointId, answered, config.webhookDisable);
}

async function suppressAddress(
  client: PoolClient,
  delivery: ClaimedDelivery,
  address: string,
  result: SendResult,
): Promise<void> {
  const channel = delivery.channel as 'email' | 'sms';
  const source = channel === 'email' ? 'smtp' : 'twilio';
  const optedOut = channel === 'sms' && result.code === TWILIO_OPTED_OUT;
  const suppressionId = await suppress(client, {
    tenantId: delivery.tenantId,
    channel,
    address,
    reason: channel === 'email' ? 'hard_bounce' : optedOut ? 'opt_out' : 'invalid_address',
    source,
    detail: `${result.code ?? ''} ${result.message ?? ''}`.trim(),
    deliveryId: delivery.id,
  });
  await recordFeedback(client, {
    tenantId: delivery.tenantId,
    source,
    kind: channel === 'email' ? 'bounce' : optedOut ? 'opt_out' : 'invalid_address',
    channel,
    address,
    deliveryId: delivery.id,
    suppressionId,
    outcome: suppressionId ? 'suppressed' : 'noted: not a valid address',
    payload: { code: result.code, message: result.message, at: 'send' },
  });
}

/** One endpoint's answers within a recording: what they change of its failure count. */
interface EndpointAnswers {
  /** an answer was a success: the count starts again from the failures after it */
  succeeded: boolean;
  /** failures since the last success (of these answers) */
  failures: number;
  /** 410 Gone (or another "not here any more") */
  gone: string | null;
  lastCode: string;
}

function tally(before: EndpointAnswers | undefined, result: SendResult): EndpointAnswers {
  const answers = before ?? { succeeded: false, failures: 0, gone: null, lastCode: '' };
  if (result.outcome === 'ok') return { ...answers, succeeded: true, failures: 0 };
  return {
    ...answers,
    failures: answers.failures + 1,
    gone: result.outcome === 'bad_address' ? (result.code ?? 'gone') : answers.gone,
    lastCode: `${result.code ?? result.outcome}`,
  };
}

/**
 * 410 Gone disables the endpoint at once. Other failures count up; once an endpoint has failed
 * `afterFailures` times in a row over at least `afterSeconds`, it is disabled too, so one bad
 * minute does not cut a receiver off but a receiver dead for a day stops costing retries. One
 * statement per endpoint however many of its deliveries answered, none when nothing changes.
 */
async function trackEndpoint(
  client: PoolClient,
  endpointId: string,
  answers: EndpointAnswers,
  limits: HeraldConfig['webhookDisable'],
): Promise<void> {
  if (answers.gone) {
    await SendFeedbackRepository.disableEndpoint(client, endpointId, `the endpoint answered ${answers.gone}`);
    return;
  }
  await SendFeedbackRepository.countEndpointFailures(client, endpointId, answers, limits);
}
