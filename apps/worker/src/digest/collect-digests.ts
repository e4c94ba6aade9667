import { digestKeyOf, type Channel, type ChannelRule } from '@herald/core';
import type { DigestsRepository } from '@herald/db';
import { ensureDeliveryJob, type DeliveryQueues } from '@herald/queue';

/** What the fan-out plans for one recipient × channel (the fields a digest needs of it). */
export interface DigestCandidate {
  id: string;
  subscriberId: string | null;
  channel: Channel;
  status: string;
  lastError: string | null;
}

/**
 * The fan-out's digest step. For each planned delivery on a channel the rule digests, the event is
 * gathered (durably, in Postgres) into the subscriber's open digest instead of being sent now: the
 * event that opens a digest keeps its delivery, due at the window's end, with a delayed job whose
 * id is that delivery's; the events that join get a `skipped` delivery naming the one they went
 * with. Returns what the fan-out still has to insert and enqueue. Idempotent: an item's id is the
 * delivery id the event would have had, so a fan-out run twice gathers an event once.
 */
export async function collectDigests<T extends DigestCandidate>(
  digests: DigestsRepository,
  queues: DeliveryQueues,
  event: { id: string; tenantId: string; type: string },
  channels: ChannelRule[],
  rows: T[],
): Promise<T[]> {
  const configs = new Map(channels.flatMap((c) => (c.digest ? [[c.channel, c.digest] as const] : [])));
  const digested = (row: T) => row.subscriberId !== null && row.status === 'queued' && configs.has(row.channel);
  if (!rows.some(digested)) return rows;

  const data = await digests.eventData(event.tenantId, event.id);
  const out: T[] = [];
  for (const row of rows) {
    if (!digested(row)) {
      out.push(row);
      continue;
    }
    const config = configs.get(row.channel)!;
    const item = { eventId: event.id, deliveryId: row.id, subscriberId: row.subscriberId!, channel: row.channel };
    const key = digestKeyOf(config, event.type, data);
    const joined = await digests.join(event.tenantId, item, key, config.windowSeconds);
    if (joined.open) {
      const ref = { id: joined.deliveryId, tenantId: event.tenantId, channel: row.channel };
      await ensureDeliveryJob(queues, ref, joined.windowEnd.getTime() - Date.now());
    }
    // The opening event's delivery exists already; the others say where their event went.
    if (joined.deliveryId !== row.id) {
      out.push({ ...row, status: 'skipped', lastError: `digested: sent with delivery ${joined.deliveryId}` });
    }
  }
  return out;
}
