import type { Channel } from '@herald/core';
import { TemplateError, renderTemplate, type PartFormats, type RenderContext } from './templates';

/**
 * What a delivery's templates see and what a webhook endpoint receives, built in one place for the
 * worker that sends and the api that previews: a preview cannot drift from what is sent.
 */

/**
 * The parts of each channel's template that are markup, and of which format (their `{{ }}` outputs are
 * escaped for it); every other part is plain text, rendered as written. Only an email's `html` today;
 * Slack mrkdwn or Telegram HTML parts would be named here. A text part made from HTML (the email text
 * that html-to-text derives when a rule has none) is decoded back by that conversion.
 */
export const PART_FORMATS: Readonly<Partial<Record<Channel, PartFormats>>> = {
  email: { html: 'html' },
};

/** A channel's template rendered for a delivery or a preview, each part escaped for its format. */
export function renderChannelTemplate(
  channel: Channel,
  template: Record<string, unknown>,
  context: RenderContext,
): Promise<Record<string, unknown>> {
  return renderTemplate(template, context, PART_FORMATS[channel]);
}

/** The event, as templates and the webhook envelope show it. */
export interface ContentEvent {
  id: string;
  type: string;
  createdAt: Date;
  data: Record<string, unknown>;
}

/** A subscriber as its row holds it (null for what is not set); a preview's sample may leave out the id. */
export interface ContentSubscriber {
  subscriberId?: string;
  email?: string | null;
  phone?: string | null;
  locale?: string | null;
  timezone?: string | null;
  data?: unknown;
}

/** `data` (the event's), `event` and `subscriber`: empty for a webhook endpoint, which has none. */
export function renderContext(event: ContentEvent, subscriber: ContentSubscriber | null): RenderContext {
  return {
    data: event.data,
    event: { id: event.id, type: event.type, createdAt: event.createdAt },
    subscriber: subscriber
      ? {
          subscriberId: subscriber.subscriberId,
          email: subscriber.email ?? undefined,
          phone: subscriber.phone ?? undefined,
          locale: subscriber.locale ?? undefined,
          timezone: subscriber.timezone ?? undefined,
          data: subscriber.data ?? {},
        }
      : {},
  };
}

/**
 * The body a webhook endpoint receives: the rendered `payload` template when the rule has one, else
 * the event's envelope. A payload that is not JSON is a TemplateError on `payload`.
 */
export function webhookBody(event: ContentEvent, renderedPayload: string | undefined): unknown {
  if (renderedPayload === undefined) {
    return { id: event.id, type: event.type, timestamp: new Date(event.createdAt).toISOString(), data: event.data };
  }
  try {
    return JSON.parse(renderedPayload) as unknown;
  } catch {
    throw new TemplateError('payload', 'renders to text that is not JSON');
  }
}
