import { randomUUID } from 'node:crypto';
import { signWebhook } from '@herald/channels';
import type { HeraldConfig } from '@herald/config';
import type { SandboxHub, SandboxRecord } from '@herald/sandbox';

/** Every feedback the /sandbox page can play (the form's schema); FEEDBACK_ACTIONS says which a channel has. */
export const FEEDBACK_ACTION_NAMES = ['delivered', 'stop', 'bounce', 'complaint', 'uninstall'] as const;
export type FeedbackAction = (typeof FEEDBACK_ACTION_NAMES)[number];

/** What a person or a provider can answer to a message the sandboxes took, with its button's label. */
export const FEEDBACK_ACTIONS = {
  sms: { delivered: 'delivered receipt', stop: 'reply STOP' },
  email: { bounce: 'bounce', complaint: 'complaint' },
  push: { uninstall: 'uninstall app' },
  webhook: {},
} as const satisfies Record<SandboxRecord['channel'], Partial<Record<FeedbackAction, string>>>;

export function actionsFor(record: SandboxRecord): [FeedbackAction, string][] {
  if (record.outcome !== 'accepted') return [];
  return Object.entries(FEEDBACK_ACTIONS[record.channel]) as [FeedbackAction, string][];
}

/**
 * Plays a provider's feedback for one sandbox message through Herald's real feedback routes, signed as
 * the provider signs it (Twilio's X-Twilio-Signature with the sandbox's token; Standard Webhooks with
 * FEEDBACK_WEBHOOK_SECRET for email), so a developer can see a STOP, a bounce or a dead token act
 * without reading how to sign one. Resolves to one line saying what happened.
 */
export async function playFeedback(
  hub: SandboxHub,
  config: HeraldConfig,
  record: SandboxRecord,
  action: FeedbackAction,
): Promise<string> {
  const detail = record.detail as { sid?: string; messageId?: string };
  switch (action) {
    case 'delivered': {
      const status = await (await hub.twilio()).sendStatusCallback(String(detail.sid), 'delivered');
      return `Twilio status callback "delivered" for ${record.to}: Herald answered ${status}`;
    }
    case 'stop': {
      const url = `${config.publicUrl}/v1/feedback/twilio/inbound`;
      const status = await (await hub.twilio()).reply(String(detail.sid), 'STOP', url);
      return `${record.to} texted STOP: Herald answered ${status}`;
    }
    case 'bounce':
    case 'complaint': {
      const secret = config.feedback.genericSecret;
      if (!secret) return 'Set FEEDBACK_WEBHOOK_SECRET (npm start sets one in development) to play email feedback';
      const payload = JSON.stringify({ type: action, email: record.to, messageId: detail.messageId });
      const headers = signWebhook({
        id: `msg_${randomUUID()}`,
        timestamp: Math.floor(Date.now() / 1000),
        payload,
        secret,
      });
      const response = await fetch(`${config.publicUrl}/v1/feedback/email`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: payload,
      });
      const answer = (await response.json().catch(() => ({}))) as { outcomes?: string[] };
      return `${action} for ${record.to}: Herald answered ${response.status} (${answer.outcomes?.join('; ') ?? 'no outcome'})`;
    }
    case 'uninstall':
      (await hub.fcm()).uninstall(record.to);
      return `the app behind ${record.to} is uninstalled: the next push to it is answered UNREGISTERED, and Herald deactivates the token`;
  }
}
