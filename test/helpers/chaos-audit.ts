import type { Pool } from 'pg';
import { DELIVERY_STATUSES, isTerminal } from '@herald/core';
import { LOST_ANSWER, type SandboxRecord, type SandboxRecorder } from '@herald/sandbox';

const TERMINAL = DELIVERY_STATUSES.filter(isTerminal);
const DELIVERED = ['sent', 'delivered'];
export const AUDITED_CHANNELS = ['inapp', 'webhook', 'email', 'sms', 'push'] as const;
export type AuditedChannel = (typeof AUDITED_CHANNELS)[number];
export type ExternalChannel = Exclude<AuditedChannel, 'inapp'>;
/** the final outcomes other than delivered: each must be explained by a fault the run injected */
export const EXPLAINING_OUTCOMES = ['dead', 'failed', 'skipped', 'suppressed', 'rate_limited'] as const;
export type ExplainingOutcome = (typeof EXPLAINING_OUTCOMES)[number];

/** One copy a provider took. */
export interface Copy {
  at: number;
  /** the provider took it and then lost its answer (the sandbox's lost-answer fault) */
  lostAnswer: boolean;
  /** webhooks: the webhook-id header it carried */
  webhookId?: string;
}

/**
 * What the providers took, by channel and the event's tag (the chaos rule renders the tag as the
 * email subject, the SMS body and the push title; webhooks carry it in their data), from the
 * sandboxes' own records: the ground truth of what a recipient received.
 */
export class ReceivedLedger {
  private readonly copies = new Map<string, Copy[]>();

  constructor(recorder: SandboxRecorder) {
    recorder.on('record', (record: SandboxRecord) => {
      if (record.outcome !== 'accepted') return;
      const tag =
        record.channel === 'webhook'
          ? String((record.detail.body as { data?: { tag?: unknown } } | undefined)?.data?.tag ?? '')
          : record.summary;
      const key = `${record.channel}:${tag}`;
      const webhookId = (record.detail.headers as Record<string, unknown> | undefined)?.['webhook-id'];
      this.copies.set(key, [
        ...(this.copies.get(key) ?? []),
        {
          at: record.at.getTime(),
          lostAnswer: record.detail.fault === LOST_ANSWER,
          ...(typeof webhookId === 'string' && { webhookId }),
        },
      ]);
    });
  }

  received(channel: ExternalChannel, tag: string): Copy[] {
    return this.copies.get(`${channel}:${tag}`) ?? [];
  }
}

/**
 * A send the run interrupted on purpose: a kill -9 of a process serving `channels`. A copy the
 * provider took just before such a kill may never have been recorded, and so goes again.
 */
export interface Interruption {
  what: string;
  channels: string[];
  at: number;
}

/**
 * A kill explains a copy sent again when it came while the copy's outcome could still be unrecorded:
 * from a little before the provider recorded it (bytes a worker wrote just before it was killed still
 * reach the provider, which records them a moment later) until `recordWindowMs` after (a live worker
 * records the answer at once, retrying through a database outage for at most half its lease), and
 * before the copy that followed it.
 */
const KILL_BEFORE_COPY_SLACK_MS = 5000;

export interface ChannelFigures {
  deliveries: number;
  /** sent or delivered */
  delivered: number;
  dead: number;
  failed: number;
  skipped: number;
  suppressed: number;
  rate_limited: number;
  /** still in motion when the run ended */
  stuck: number;
  /**
   * accepted but not delivered nor explained: an event never stored, a delivery never created,
   * or a delivery recorded sent that its provider never received
   */
  lost: number;
  /** copies the provider took (in-app: inbox messages) */
  copies: number;
  /** copies beyond the first, per delivery (in-app: inbox messages of one event beyond the first) */
  duplicates: number;
  /** duplicates whose earlier copy's answer was lost by the provider */
  byLostAnswer: number;
  /**
   * duplicates whose earlier copy was interrupted by a kill -9 of a process serving the channel (one
   * per claim of the delivery that recorded no attempt)
   */
  byKill: number;
  /** duplicates neither explains */
  unexplained: number;
  /**
   * copies beyond what the delivery's claims allow: one per claim (push: plus the copies
   * firebase-admin re-sends by itself, within the claim, after a lost answer)
   */
  outsideClaim: number;
  /** webhooks: copies of one delivery carrying different webhook-ids (a receiver could not drop them) */
  webhookIdChanged: number;
}

export interface ChaosFigures {
  accepted: number;
  channels: Record<AuditedChannel, ChannelFigures>;
  /** deliveries tried again after an attempt was recorded `ok`: Herald's own doubles */
  resentAfterDelivered: number;
  /** up to 10 examples of what was lost or stuck, for the failure message */
  examples: string[];
  /** duplicates (and copies) nothing the run did explains, each with what the audit saw */
  unexplained: string[];
  /** up to 30 duplicates with the interrupted send each came from */
  explained: string[];
}

interface DeliveryRow {
  eventId: string;
  id: string;
  channel: AuditedChannel;
  status: string;
  /** how many times it was claimed */
  claims: number;
}

/** Reads the database's side of every accepted event and compares it with what the sandboxes received. */
export async function audit(
  pool: Pool,
  accepted: { id: string; tag: string }[],
  ledger: ReceivedLedger,
  interruptions: Interruption[],
  recordWindowMs: number,
  origin: number,
): Promise<ChaosFigures> {
  const ids = accepted.map((e) => e.id);
  const events = new Set(
    (await pool.query<{ id: string }>('SELECT id FROM events WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => r.id),
  );
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT event_id AS "eventId", id, channel, status, attempts AS claims FROM deliveries WHERE event_id = ANY($1::uuid[])`,
    [ids],
  );
  const inbox = await pool.query<{ id: string; eventId: string }>(
    `SELECT id, event_id AS "eventId" FROM inbox_messages WHERE event_id = ANY($1::uuid[])`,
    [ids],
  );
  const inboxByDelivery = new Set(inbox.rows.map((r) => r.id));
  const inboxPerEvent = countBy(inbox.rows.map((r) => r.eventId));
  // deliveries with an attempt recorded after an `ok` one
  const resent = await pool.query<{ id: string }>(
    `SELECT DISTINCT a.delivery_id AS id FROM delivery_attempts a
     JOIN delivery_attempts later ON later.delivery_id = a.delivery_id AND later.id > a.id
     JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id = ANY($1::uuid[]) AND a.outcome = 'ok'`,
    [ids],
  );
  // Claims that left no attempt row: the worker died (or lost the database) before it recorded an
  // outcome. Only such a claim can have been interrupted by a kill.
  const recorded = await pool.query<{ id: string; attempts: number }>(
    `SELECT a.delivery_id AS id, count(DISTINCT a.attempt)::int AS attempts FROM delivery_attempts a
     JOIN deliveries d ON d.id = a.delivery_id WHERE d.event_id = ANY($1::uuid[]) GROUP BY a.delivery_id`,
    [ids],
  );
  const recordedClaims = new Map(recorded.rows.map((r) => [r.id, r.attempts]));
  const byEvent = new Map<string, DeliveryRow[]>();
  for (const row of rows) byEvent.set(row.eventId, [...(byEvent.get(row.eventId) ?? []), row]);

  const empty = (): ChannelFigures => ({
    deliveries: 0,
    delivered: 0,
    dead: 0,
    failed: 0,
    skipped: 0,
    suppressed: 0,
    rate_limited: 0,
    stuck: 0,
    lost: 0,
    copies: 0,
    duplicates: 0,
    byLostAnswer: 0,
    byKill: 0,
    unexplained: 0,
    outsideClaim: 0,
    webhookIdChanged: 0,
  });
  const channels = Object.fromEntries(AUDITED_CHANNELS.map((c) => [c, empty()])) as Record<
    AuditedChannel,
    ChannelFigures
  >;
  const examples: string[] = [];
  const unexplained: string[] = [];
  const explained: string[] = [];
  const note = (what: string) => examples.length < 10 && examples.push(what);
  const since = (at: number) => `${((at - origin) / 1000).toFixed(1)}s`;

  for (const { id, tag } of accepted) {
    if (!events.has(id)) {
      for (const channel of AUDITED_CHANNELS) channels[channel].lost++;
      note(`event ${id} (${tag}) answered 202 but is not in the database`);
      continue;
    }
    const deliveries = byEvent.get(id) ?? [];
    for (const channel of AUDITED_CHANNELS) {
      const figures = channels[channel];
      const delivery = deliveries.find((d) => d.channel === channel);
      if (!delivery) {
        figures.lost++;
        note(`event ${id} (${tag}) has no ${channel} delivery`);
        continue;
      }
      figures.deliveries++;
      const copies = channel === 'inapp' ? [] : ledger.received(channel, tag).sort((a, b) => a.at - b.at);
      const received = channel === 'inapp' ? (inboxByDelivery.has(delivery.id) ? 1 : 0) : copies.length;
      figures.copies += received;

      // Each copy after the first exists because the one before it was taken by the provider and
      // its outcome never recorded: the audit names the fault that did that, or counts it unexplained.
      let unrecordedClaims = delivery.claims - (recordedClaims.get(delivery.id) ?? 0);
      for (let i = 1; i < copies.length; i++) {
        figures.duplicates++;
        const [before, after] = [copies[i - 1], copies[i]];
        const kill = interruptions.find(
          (k) =>
            k.channels.includes(channel) &&
            k.at >= before.at - KILL_BEFORE_COPY_SLACK_MS &&
            k.at <= Math.min(after.at, before.at + recordWindowMs),
        );
        const what = `${channel} ${delivery.id} (${tag}, ${delivery.status}, claimed ${delivery.claims}): copy ${i + 1} at ${since(after.at)}`;
        if (before.lostAnswer) {
          figures.byLostAnswer++;
          explained.push(`${what}: the provider lost its answer to copy ${i} at ${since(before.at)}`);
        } else if (kill && unrecordedClaims > 0) {
          unrecordedClaims--;
          figures.byKill++;
          explained.push(`${what}: copy ${i} at ${since(before.at)} interrupted by ${kill.what} at ${since(kill.at)}`);
        } else {
          figures.unexplained++;
          unexplained.push(
            `${what}: copy ${i} at ${since(before.at)} ` +
              (kill
                ? `met ${kill.what}, but every claim of it recorded an attempt`
                : 'neither lost its answer nor met a kill'),
          );
        }
      }
      const sdkResends = channel === 'push' ? copies.filter((c) => c.lostAnswer).length : 0;
      if (received > delivery.claims + sdkResends) {
        figures.outsideClaim += received - delivery.claims - sdkResends;
        unexplained.push(
          `${channel} ${delivery.id} (${tag}): received ${received} times, claimed only ${delivery.claims}` +
            `${sdkResends ? ` (+${sdkResends} re-sent by the SDK)` : ''}`,
        );
      }
      if (channel === 'webhook' && new Set(copies.map((c) => c.webhookId)).size > 1) {
        figures.webhookIdChanged++;
        unexplained.push(`webhook ${delivery.id} (${tag}): copies carry different webhook-ids`);
      }

      if (DELIVERED.includes(delivery.status)) {
        figures.delivered++;
        if (received === 0) {
          figures.lost++;
          note(`${channel} delivery ${delivery.id} (${tag}) is ${delivery.status} but its provider never took it`);
        }
      } else if ((EXPLAINING_OUTCOMES as readonly string[]).includes(delivery.status)) {
        figures[delivery.status as ExplainingOutcome]++;
      } else if (TERMINAL.includes(delivery.status as (typeof TERMINAL)[number])) {
        // a final status no one expects here (e.g. a new one): not delivered and not explained
        figures.lost++;
        note(`${channel} delivery ${delivery.id} (${tag}) ended ${delivery.status}`);
      } else {
        figures.stuck++;
        note(`${channel} delivery ${delivery.id} (${tag}) is still ${delivery.status}`);
      }
    }
    const inboxCopies = inboxPerEvent.get(id) ?? 0;
    if (inboxCopies > 1) {
      channels.inapp.duplicates += inboxCopies - 1;
      channels.inapp.unexplained += inboxCopies - 1;
      unexplained.push(`inapp: event ${id} (${tag}) has ${inboxCopies} inbox messages`);
    }
  }
  for (const { id } of resent.rows) note(`delivery ${id} was tried again after an attempt recorded ok`);
  return {
    accepted: accepted.length,
    channels,
    resentAfterDelivered: resent.rows.length,
    examples,
    unexplained,
    explained: explained.slice(0, 30),
  };
}

/** Polls until every accepted event that is in the database has all its deliveries in a terminal state. */
export async function waitForQuiescence(
  pool: Pool,
  ids: string[],
  timeoutMs: number,
): Promise<{ settled: boolean; seconds: number }> {
  const startedAt = Date.now();
  let calm = 0;
  while (Date.now() - startedAt < timeoutMs) {
    const { rows } = await pool
      .query<{ moving: number; short: number }>(
        `SELECT
           (SELECT count(*)::int FROM deliveries WHERE event_id = ANY($1::uuid[]) AND NOT status = ANY($2::text[])) AS moving,
           (SELECT count(*)::int FROM events e WHERE e.id = ANY($1::uuid[])
              AND (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id) < $3) AS short`,
        [ids, TERMINAL, AUDITED_CHANNELS.length],
      )
      .catch(() => ({ rows: [{ moving: -1, short: -1 }] }));
    calm = rows[0].moving === 0 && rows[0].short === 0 ? calm + 1 : 0;
    // Twice in a row, a second apart: nothing was merely between two states.
    if (calm >= 2) return { settled: true, seconds: (Date.now() - startedAt) / 1000 };
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return { settled: false, seconds: (Date.now() - startedAt) / 1000 };
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
