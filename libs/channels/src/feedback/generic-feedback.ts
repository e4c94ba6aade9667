import { z } from 'zod';
import { parseFeedback, type FeedbackSignal } from './feedback-signal';

/**
 * Herald's own feedback form, for providers without an adapter (a Postfix bounce processor, a
 * script): `{ type, permanent?, email, messageId?, reason? }`. The request's Standard Webhooks
 * signature is checked before this, with verifyWebhook.
 */
const genericFeedbackSchema = z
  .strictObject({
    type: z.enum(['bounce', 'complaint']),
    permanent: z.boolean().optional(),
    // The same check as a recipient's email at ingest: anything else cannot be a Herald recipient.
    email: z.email().max(320),
    messageId: z.string().min(1).max(255).optional(),
    reason: z.string().min(1).max(1000).optional(),
  })
  .refine((body) => body.type === 'bounce' || body.permanent === undefined, {
    path: ['permanent'],
    message: 'applies to bounces only (a complaint always suppresses)',
  });

export function genericSignal(body: unknown): FeedbackSignal {
  const { type, permanent = true, email, messageId, reason } = parseFeedback(genericFeedbackSchema, body, 'feedback');
  return {
    kind: type,
    permanent,
    channel: 'email',
    address: email,
    providerMessageId: messageId,
    reason: reason ?? (type === 'complaint' ? 'complaint' : `${permanent ? 'permanent' : 'transient'} bounce`),
    source: 'generic',
  };
}
