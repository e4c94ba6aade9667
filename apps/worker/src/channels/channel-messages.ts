import type { Pool } from 'pg';
import { TemplateError, renderChannelTemplate, webhookBody, type ChannelMessages } from '@herald/channels';
import type { SuppressibleChannel } from '@herald/core';
import { findSuppression } from '@herald/db';
import type { ClaimedDelivery } from './delivery-claim';
import { activeDeviceTokens, type DeliveryContext } from './delivery-context';

export type ExternalChannel = keyof ChannelMessages;

/** Why a delivery cannot go out at all, decided before any provider is called. */
export class Undeliverable extends Error {
  constructor(
    readonly status: 'skipped' | 'failed' | 'suppressed',
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Turns a claimed delivery, its context and the rule's template into what the channel's provider
 * sends. Throws Undeliverable when there is nobody to send to or the template cannot render.
 */
export async function buildMessage<C extends ExternalChannel>(
  pool: Pool,
  delivery: ClaimedDelivery,
  context: DeliveryContext,
): Promise<ChannelMessages[C]> {
  if (!context.template) {
    throw new Undeliverable('failed', 'no_rule', `the event type no longer has a ${delivery.channel} rule`);
  }
  const rendered = await render(delivery, context);
  switch (delivery.channel) {
    case 'email': {
      const to = context.subscriber?.email ?? noAddress('email address');
      await refuseSuppressed(pool, delivery, 'email', to);
      const parts = rendered as { subject: string; html?: string; text?: string };
      return { to, subject: parts.subject, html: parts.html, text: parts.text } as ChannelMessages[C];
    }
    case 'sms': {
      const to = context.subscriber?.phone ?? noAddress('phone number');
      await refuseSuppressed(pool, delivery, 'sms', to);
      const from = context.smsFrom ?? undefined;
      return { to, from, body: (rendered as { body: string }).body } as ChannelMessages[C];
    }
    case 'push': {
      const tokens = await activeDeviceTokens(pool, delivery.tenantId, delivery.subscriberId!);
      if (tokens.length === 0) noAddress('active push device');
      const parts = rendered as { title: string; body: string; data?: Record<string, string> };
      return { tokens, title: parts.title, body: parts.body, data: parts.data } as ChannelMessages[C];
    }
    case 'webhook': {
      const endpoint = context.endpoint;
      if (!endpoint) throw new Undeliverable('skipped', 'no_endpoint', 'the webhook endpoint was deleted');
      if (!endpoint.active) {
        throw new Undeliverable(
          'skipped',
          'endpoint_disabled',
          `the endpoint is disabled: ${endpoint.disabledReason ?? 'by an operator'}`,
        );
      }
      const payload = webhookPayload(context, (rendered as { payload?: string }).payload);
      const correlationId = context.event.correlationId ?? undefined;
      return { url: endpoint.url, secret: endpoint.secret, payload, correlationId } as ChannelMessages[C];
    }
    default:
      throw new Error(`no external provider for channel ${delivery.channel}`);
  }
}

async function render(delivery: ClaimedDelivery, context: DeliveryContext): Promise<Record<string, unknown>> {
  try {
    return await renderChannelTemplate(delivery.channel, context.template!, context.render);
  } catch (err) {
    if (err instanceof TemplateError) throw new Undeliverable('failed', 'template', `${err.part}: ${err.message}`);
    throw err;
  }
}

/** The rendered `payload` template when the rule has one (it must be JSON), else the event envelope. */
function webhookPayload(context: DeliveryContext, rendered: string | undefined): string {
  try {
    return JSON.stringify(webhookBody(context.event, rendered));
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    throw new Undeliverable('failed', 'invalid_payload', 'the rendered webhook payload is not valid JSON');
  }
}

/**
 * A suppressed address is never sent to, critical rule or not: a hard bounce or an opt-out (STOP)
 * is the recipient's or their provider's final word.
 */
async function refuseSuppressed(
  pool: Pool,
  delivery: ClaimedDelivery,
  channel: SuppressibleChannel,
  address: string,
): Promise<void> {
  const suppression = await findSuppression(pool, delivery.tenantId, channel, address);
  if (suppression) {
    throw new Undeliverable(
      'suppressed',
      suppression.reason,
      `${address} is on the suppression list (${suppression.reason}, from ${suppression.source})`,
    );
  }
}

function noAddress(what: string): never {
  throw new Undeliverable('skipped', 'no_address', `the subscriber has no ${what}`);
}
