import { TemplateError, renderChannelTemplate, webhookBody, type ChannelMessages } from '@herald/channels';
import { normalizeAddress, type SuppressibleChannel } from '@herald/core';
import { suppressionKey, type ClaimedDelivery, type DeliveryContextRepository, type SuppressionHit } from '@herald/db';
import type { DeliveryContext } from './delivery-context';

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

/** What a batch's messages are checked against, read once for the whole batch. */
export interface BatchLookups {
  /** live suppressions of the batch's addresses (DeliveryContextRepository.suppressions) */
  suppressions: Map<string, SuppressionHit>;
  /** active push tokens by subscriber id */
  tokens: Map<string, string[]>;
}

/** Reads a batch's suppressions (email, SMS) or push tokens in one query. */
export async function batchLookups(
  contexts: DeliveryContextRepository,
  tenantId: string,
  channel: ExternalChannel,
  items: { delivery: ClaimedDelivery; context: DeliveryContext }[],
): Promise<BatchLookups> {
  const lookups: BatchLookups = { suppressions: new Map(), tokens: new Map() };
  if (channel === 'email' || channel === 'sms') {
    const addresses = items.flatMap(({ context }) => {
      const address = channel === 'email' ? context.subscriber?.email : context.subscriber?.phone;
      return address ? [{ channel, address }] : [];
    });
    lookups.suppressions = await contexts.suppressions(tenantId, addresses);
  } else if (channel === 'push') {
    const subscribers = items.flatMap(({ delivery }) => (delivery.subscriberId ? [delivery.subscriberId] : []));
    lookups.tokens = await contexts.activeTokens(tenantId, [...new Set(subscribers)]);
  }
  return lookups;
}

/**
 * Turns a claimed delivery, its context and the rule's template into what the channel's provider
 * sends. Throws Undeliverable when there is nobody to send to or the template cannot render.
 */
export async function buildMessage<C extends ExternalChannel>(
  delivery: ClaimedDelivery,
  context: DeliveryContext,
  lookups: BatchLookups,
): Promise<ChannelMessages[C]> {
  if (!context.template) {
    throw new Undeliverable('failed', 'no_rule', `the event type no longer has a ${delivery.channel} rule`);
  }
  const rendered = await render(delivery, context);
  switch (delivery.channel) {
    case 'email': {
      const to = context.subscriber?.email ?? noAddress('email address');
      refuseSuppressed(lookups, 'email', to);
      const parts = rendered as { subject: string; html?: string; text?: string };
      return { to, subject: parts.subject, html: parts.html, text: parts.text } as ChannelMessages[C];
    }
    case 'sms': {
      const to = context.subscriber?.phone ?? noAddress('phone number');
      refuseSuppressed(lookups, 'sms', to);
      const from = context.smsFrom ?? undefined;
      return { to, from, body: (rendered as { body: string }).body } as ChannelMessages[C];
    }
    case 'push': {
      const tokens = lookups.tokens.get(delivery.subscriberId!) ?? [];
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
function refuseSuppressed(lookups: BatchLookups, channel: SuppressibleChannel, address: string): void {
  const normalized = normalizeAddress(channel, address);
  const suppression = normalized ? lookups.suppressions.get(suppressionKey(channel, normalized)) : undefined;
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
