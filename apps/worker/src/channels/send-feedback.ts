import type { PoolClient } from 'pg';
import type { ChannelMessages, SendResult } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import { recordFeedback, suppress } from '@herald/db';
import type { ExternalChannel } from './channel-messages';
import type { ClaimedDelivery } from './delivery-claim';

// Twilio 21610: the recipient texted STOP. Any other dead number is simply not a valid address.
const TWILIO_OPTED_OUT = '21610';

/**
 * What a provider's synchronous answer says about the address itself, acted on in the same
 * transaction as the attempt: a hard bounce or dead number is suppressed, a dead push token
 * deactivated, a webhook endpoint that is gone (or keeps failing) disabled.
 */
export async function applySendFeedback(
  client: PoolClient,
  delivery: ClaimedDelivery,
  message: ChannelMessages[ExternalChannel],
  result: SendResult,
  config: HeraldConfig,
): Promise<void> {
  switch (delivery.channel) {
    case 'email':
    case 'sms':
      if (result.outcome === 'bad_address')
        await suppressAddress(client, delivery, (message as { to: string }).to, result);
      return;
    case 'push':
      await deactivateDeadTokens(client, delivery, result);
      return;
    case 'webhook':
      await trackEndpoint(client, delivery, result, config.webhookDisable);
      return;
  }
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

async function deactivateDeadTokens(client: PoolClient, delivery: ClaimedDelivery, result: SendResult): Promise<void> {
  const dead = (result.targets ?? []).filter((t) => t.outcome === 'bad_address');
  if (dead.length === 0) return;
  await client.query(
    `UPDATE devices SET active = false, deactivated_at = now(), updated_at = now(),
       deactivated_reason = reasons.reason
     FROM unnest($2::text[], $3::text[]) AS reasons(token, reason)
     WHERE devices.tenant_id = $1 AND devices.token = reasons.token AND devices.active`,
    [
      delivery.tenantId,
      dead.map((t) => t.target),
      dead.map((t) => `${t.code ?? 'bad_address'}: ${t.message ?? ''}`.trim()),
    ],
  );
}

/**
 * 410 Gone disables the endpoint at once. Other failures count up; once an endpoint has failed
 * `afterFailures` times in a row over at least `afterSeconds`, it is disabled too, so one bad
 * minute does not cut a receiver off but a receiver dead for a day stops costing retries.
 */
async function trackEndpoint(
  client: PoolClient,
  delivery: ClaimedDelivery,
  result: SendResult,
  limits: HeraldConfig['webhookDisable'],
): Promise<void> {
  if (!delivery.endpointId) return;
  if (result.outcome === 'ok') {
    await client.query(
      `UPDATE webhook_endpoints SET consecutive_failures = 0, first_failure_at = NULL
       WHERE id = $1 AND consecutive_failures > 0`,
      [delivery.endpointId],
    );
    return;
  }
  if (result.outcome === 'bad_address') {
    await client.query(
      `UPDATE webhook_endpoints SET active = false, disabled_reason = $2, updated_at = now() WHERE id = $1`,
      [delivery.endpointId, `the endpoint answered ${result.code ?? 'gone'}`],
    );
    return;
  }
  await client.query(
    `UPDATE webhook_endpoints SET
       consecutive_failures = consecutive_failures + 1,
       first_failure_at = COALESCE(first_failure_at, now()),
       active = active AND NOT (consecutive_failures + 1 >= $2
         AND COALESCE(first_failure_at, now()) <= now() - make_interval(secs => $3)),
       disabled_reason = CASE
         WHEN active AND consecutive_failures + 1 >= $2
           AND COALESCE(first_failure_at, now()) <= now() - make_interval(secs => $3)
         THEN 'failed ' || (consecutive_failures + 1) || ' times in a row since ' || COALESCE(first_failure_at, now())
           || ', last: ' || $4
         ELSE disabled_reason END,
       updated_at = now()
     WHERE id = $1`,
    [delivery.endpointId, limits.afterFailures, limits.afterSeconds, `${result.code ?? result.outcome}`],
  );
}
