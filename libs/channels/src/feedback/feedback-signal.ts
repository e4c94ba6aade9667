import type { z } from 'zod';

export type FeedbackKind = 'bounce' | 'complaint' | 'delivered' | 'note';

/** One provider report about one recipient address, whatever provider sent it. */
export interface FeedbackSignal {
  kind: FeedbackKind;
  /**
   * bounce: true for a hard/permanent bounce (suppress), false for transient (note only).
   * Complaints are always true (the recipient asked not to get mail); deliveries and notes are false.
   */
  permanent: boolean;
  channel: 'email' | 'sms';
  /** the recipient address as the provider gave it (not normalized) */
  address: string;
  /** the provider's message id, to link back to Herald's delivery, when given */
  providerMessageId?: string;
  /** Herald's own delivery id, when the provider echoes it back (SendGrid custom args) */
  deliveryId?: string;
  /** the provider's id of this one event, when it gives one (SendGrid sg_event_id): a retry repeats it */
  eventId?: string;
  /** short human reason, e.g. "Permanent/General: 550 5.1.1 user unknown" */
  reason: string;
  source: 'ses' | 'sendgrid' | 'generic' | 'twilio';
}

/**
 * The sender's fault: a malformed body (400) or a request we cannot prove came from the provider (401).
 * Anything else thrown while handling feedback is ours, so the webhook should answer 5xx and the
 * provider retry.
 */
export class FeedbackRejected extends Error {
  override readonly name = 'FeedbackRejected';

  constructor(
    readonly status: 400 | 401,
    message: string,
  ) {
    super(message);
  }
}

/** Parses with a zod schema; failure is a FeedbackRejected(400) naming the first bad field, e.g. "[2].email". */
export function parseFeedback<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const [issue] = result.error.issues;
  const path = issue.path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i ? '.' : ''}${String(part)}`))
    .join('');
  throw new FeedbackRejected(400, `${what}: ${path ? `${path}: ` : ''}${issue.message}`);
}
