/**
 * "Why did Alice not get it?" in plain words: what happened to each of a subscriber's deliveries of an
 * event, from the statuses, attempts and hold-backs the API shows (docs/reference.md#delivery-statuses).
 */

export interface EventSummary {
  id: string;
  type: string;
  status: string;
  createdAt: string;
  sendAt?: string;
}

export interface DeliveryStory {
  id: string;
  channel: string;
  status: string;
  subscriberId?: string;
  endpointId?: string;
  attempts: { at: string; outcome: string; provider?: string; code?: string; message?: string }[];
  providerMessageId?: string;
  lastError?: string;
  /** when its status last changed (`GET /v1/deliveries` shows it) */
  updatedAt?: string;
  lastDeferral?: { at: string; status: string; reason: string; until: string | null };
}

const EVENT_STATUS: Record<string, string> = {
  accepted: 'stored, not yet fanned out into deliveries',
  routed: 'fanned out into deliveries',
  unrouted: 'not delivered: no rule exists for its type',
  cancelled: 'cancelled before it was fanned out',
};

export function explainEvent(event: EventSummary, deliveries: DeliveryStory[], subscriberId: string): string {
  const lines = [`Event ${event.id} (${event.type}), received ${time(event.createdAt)}: ${eventStatus(event)}.`];
  if (event.status === 'routed' && !deliveries.length) {
    lines.push(`- no delivery to ${subscriberId}: the rule's channels or the event's recipients did not include them.`);
  }
  for (const delivery of deliveries) lines.push(`- ${delivery.channel}: ${explainDelivery(delivery)}`);
  return lines.join('\n');
}

function eventStatus(event: EventSummary): string {
  const meaning = EVENT_STATUS[event.status] ?? event.status;
  return event.status === 'accepted' && event.sendAt ? `scheduled for ${time(event.sendAt)}` : meaning;
}

/** One sentence per delivery: what its status means, with the cause and the time. */
export function explainDelivery(d: DeliveryStory): string {
  const last = d.attempts.at(-1);
  const tries = d.attempts.filter((a) => a.outcome !== 'ok').length;
  const lastError = last && last.outcome !== 'ok' ? describeAttempt(last) : d.lastError;
  const sentAt = [...d.attempts].reverse().find((a) => a.outcome === 'ok');
  const earlierHold =
    d.lastDeferral && ['sent', 'delivered'].includes(d.status)
      ? ` It had been held back first (${d.lastDeferral.reason}).`
      : '';
  switch (d.status) {
    case 'sent': {
      const taken =
        d.channel === 'inapp'
          ? "it is in the subscriber's inbox"
          : 'the provider took it (no delivery receipt yet, or the channel has none)';
      return `sent${sentAt ? ` at ${time(sentAt.at)}` : ''}${via(sentAt?.provider)}${messageId(d)}; ${taken}.${earlierHold}`;
    }
    case 'delivered':
      return `delivered: the provider confirmed it${sentAt ? ` (sent at ${time(sentAt.at)}${via(sentAt.provider)})` : ''}.${earlierHold}`;
    case 'failed':
      return `failed permanently${tries ? ` after ${plural(tries, 'attempt')}` : ''}: ${d.lastError ?? lastError ?? 'refused'}${last ? ` (last attempt at ${time(last.at)})` : ''}. It will not be retried.`;
    case 'dead':
      return `dead: its retry budget ran out after ${plural(tries, 'attempt')}; the last error was ${lastError ?? 'unknown'}${last ? ` at ${time(last.at)}` : ''}. It is in the dead-letter list and can be replayed (replay_dead_letter).`;
    case 'suppressed':
      return `not sent${decided(d)}: ${d.lastError ?? 'the address is on the suppression list'}. Lift the suppression (lift_suppression) only if the address is good again.`;
    case 'skipped':
      return `not sent${decided(d)}: ${d.lastError ?? 'nothing to send'}.`;
    case 'rate_limited':
      return `dropped by a rate limit: ${d.lastDeferral?.reason ?? d.lastError ?? 'over the limit'}${d.lastDeferral ? ` (at ${time(d.lastDeferral.at)})` : ''}.`;
    case 'deferred':
      return `held back: ${d.lastDeferral?.reason ?? 'quiet hours or a rate limit'}${d.lastDeferral?.until ? `; it goes out at ${time(d.lastDeferral.until)}` : ''}.`;
    case 'pending':
    case 'queued':
    case 'sending': {
      const retry = tries
        ? ` after ${plural(tries, 'failed attempt')} (last: ${lastError}); Herald retries it with backoff`
        : '';
      return `on its way (${d.status})${retry}.`;
    }
    default:
      return d.status;
  }
}

function describeAttempt(a: DeliveryStory['attempts'][number]): string {
  const what = [a.code, a.message].filter(Boolean).join(': ') || a.outcome;
  return `"${what}"${a.provider ? ` from ${a.provider}` : ''}`;
}

/** Every instant in one form (UTC ISO 8601), whichever way Postgres or Prisma wrote it. */
function time(value: string): string {
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString();
}

const decided = (d: DeliveryStory) => (d.updatedAt ? ` (decided at ${time(d.updatedAt)})` : '');
const via = (provider?: string) => (provider ? ` through ${provider}` : '');
const messageId = (d: DeliveryStory) => (d.providerMessageId ? ` (provider message id ${d.providerMessageId})` : '');
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
