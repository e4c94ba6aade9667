import type { DeliveryWithAttempts } from '@herald/db';

/** A delivery and every attempt, as the API shows it (events and the delivery detail alike). */
export function deliveryView(d: DeliveryWithAttempts) {
  return {
    id: d.id,
    subscriberId: d.subscriberId,
    endpointId: d.endpointId ?? undefined,
    channel: d.channel,
    status: d.status,
    attempts: d.attemptsLog.map((a) => ({
      at: a.at,
      outcome: a.outcome,
      provider: a.provider ?? undefined,
      code: a.code ?? undefined,
      message: a.message ?? undefined,
    })),
    providerMessageId: d.providerMessageId ?? undefined,
    lastError: d.lastError ?? undefined,
    lastDeferral: d.lastDeferral ?? undefined,
  };
}
