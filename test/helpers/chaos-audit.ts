import type { Pool } from 'pg';
import { DELIVERY_STATUSES, isTerminal } from '@herald/core';
import type { SandboxRecord, SandboxRecorder, WebhookReceiver } from '@herald/sandbox';

const TERMINAL = DELIVERY_STATUSES.filter(isTerminal);
const DELIVERED = ['sent', 'delivered'];
export const AUDITED_CHANNELS = ['inapp', 'webhook', 'email', 'sms', 'push'] as const;
export type AuditedChannel = (typeof AUDITED_CHANNELS)[number];

/**
 * What the providers took, counted by the event's tag (the chaos rule renders the tag as the
 * email subject, the SMS body and the push title; webhooks carry it in their data), from the
 * sandboxes' own records: the ground truth of what a recipient received.
 */
export class ReceivedLedger {
  /** when each copy arrived, by channel and tag */
  private readonly arrivals = new Map<string, Date[]>();

  constructor(recorder: SandboxRecorder) {
    recorder.on('record', (record: SandboxRecord) => {
      if (record.outcome !== 'accepted') return;
      const tag =
        record.channel === 'webhook'
          ? String((record.detail.body as { data?: { tag?: unknown } } | undefined)?.data?.tag ?? '')
          : record.summary;
      const key = `${record.channel}:${tag}`;
      this.arrivals.set(key, [...(this.arrivals.get(key) ?? []), record.at]);
    });
  }

  received(channel: Exclude<AuditedChannel, 'inapp'>, tag: string): Date[] {
    return this.arrivals.get(`${channel}:${tag}`) ?? [];
  }
}

export interface ChaosFigures {
  accepted: number;
  deliveries: number;
  /** sent or delivered */
  delivered: number;
  dead: number;
  failed: number;
  /** skipped, suppressed, rate_limited */
  otherTerminal: number;
  /** still in motion when the run ended */
  stuck: number;
  /**
   * accepted but not delivered nor explained: an event never stored, a delivery never created,
   * or a delivery recorded sent that its provider never received
   */
  lost: number;
  /**
   * copies received beyond the first, by channel (in-app: inbox messages of one event for one
   * subscriber; webhook: the same webhook-id accepted again)
   */
  duplicates: Record<AuditedChannel, number>;
  /**
   * Herald's own doubles, which no at-least-once excuse covers: a delivery tried again after an
   * attempt was recorded `ok`, or a webhook-id received more often than its delivery was ever
   * claimed (a send outside the claim). A copy sent again because the first one's outcome never reached the database (the
   * worker was killed between the provider's answer and the record, the answer timed out) is a
   * duplicate above, not one of these.
   */
  resentAfterDelivered: number;
  sentOutsideClaim: number;
  /** up to 10 examples of what was lost or stuck, for the failure message */
  examples: string[];
  /** up to 20 duplicates with when each copy arrived and the delivery's attempts (seconds since `origin`) */
  duplicateExamples: string[];
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
  receiver: WebhookReceiver,
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
  // deliveries with an attempt recorded after an `ok` one
  const resent = await pool.query<{ id: string }>(
    `SELECT DISTINCT a.delivery_id AS id FROM delivery_attempts a
     JOIN delivery_attempts later ON later.delivery_id = a.delivery_id AND later.id > a.id
     JOIN deliveries d ON d.id = a.delivery_id
     WHERE d.event_id = ANY($1::uuid[]) AND a.outcome = 'ok'`,
    [ids],
  );
  const inboxPerEvent = countBy(inbox.rows.map((r) => r.eventId));
  const webhookIds = countBy(
    receiver
      .requests()
      .filter((r) => r.status >= 200 && r.status < 300)
      .map((r) => String(r.headers['webhook-id'])),
  );
  const byEvent = new Map<string, DeliveryRow[]>();
  for (const row of rows) byEvent.set(row.eventId, [...(byEvent.get(row.eventId) ?? []), row]);

  const figures: ChaosFigures = {
    accepted: accepted.length,
    deliveries: rows.length,
    delivered: 0,
    dead: 0,
    failed: 0,
    otherTerminal: 0,
    stuck: 0,
    lost: 0,
    duplicates: { inapp: 0, webhook: 0, email: 0, sms: 0, push: 0 },
    resentAfterDelivered: resent.rows.length,
    sentOutsideClaim: 0,
    examples: [],
    duplicateExamples: [],
  };
  const doubled: { delivery: DeliveryRow; arrivals: Date[] }[] = [];
  const note = (what: string) => figures.examples.length < 10 && figures.examples.push(what);

  for (const { id, tag } of accepted) {
    if (!events.has(id)) {
      figures.lost += AUDITED_CHANNELS.length;
      note(`event ${id} (${tag}) answered 202 but is not in the database`);
      continue;
    }
    const deliveries = byEvent.get(id) ?? [];
    for (const channel of AUDITED_CHANNELS) {
      const delivery = deliveries.find((d) => d.channel === channel);
      if (!delivery) {
        figures.lost++;
        note(`event ${id} (${tag}) has no ${channel} delivery`);
        continue;
      }
      const arrivals = channel === 'inapp' ? [] : ledger.received(channel, tag);
      const received = channel === 'inapp' ? (inboxByDelivery.has(delivery.id) ? 1 : 0) : arrivals.length;
      if (channel === 'email' || channel === 'sms' || channel === 'push') {
        figures.duplicates[channel] += Math.max(0, received - 1);
      }
      if (received > 1 && received <= delivery.claims) doubled.push({ delivery, arrivals });
      // (webhook only: firebase-admin retries a lost answer itself, within one claim)
      if (channel === 'webhook' && received > delivery.claims) {
        figures.sentOutsideClaim++;
        doubled.push({ delivery, arrivals });
      }
      if (DELIVERED.includes(delivery.status)) {
        figures.delivered++;
        if (received === 0) {
          figures.lost++;
          note(`${channel} delivery ${delivery.id} (${tag}) is ${delivery.status} but its provider never took it`);
        }
      } else if (delivery.status === 'dead') figures.dead++;
      else if (delivery.status === 'failed') figures.failed++;
      else if (TERMINAL.includes(delivery.status as (typeof TERMINAL)[number])) figures.otherTerminal++;
      else {
        figures.stuck++;
        note(`${channel} delivery ${delivery.id} (${tag}) is still ${delivery.status}`);
      }
    }
    figures.duplicates.inapp += Math.max(0, (inboxPerEvent.get(id) ?? 0) - 1);
  }
  figures.duplicates.webhook = [...webhookIds.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
  for (const { id } of resent.rows) note(`delivery ${id} was tried again after an attempt recorded ok`);
  // Sends outside a claim first: they are the ones that fail the run.
  doubled.sort((a, b) => Number(b.arrivals.length > b.delivery.claims) - Number(a.arrivals.length > a.delivery.claims));
  figures.duplicateExamples = await explain(pool, doubled.slice(0, 20), origin);
  return figures;
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

/** Each duplicate with its arrival times and attempt rows: which fault let it through. */
async function explain(
  pool: Pool,
  doubled: { delivery: DeliveryRow; arrivals: Date[] }[],
  origin: number,
): Promise<string[]> {
  const since = (at: Date) => `${((at.getTime() - origin) / 1000).toFixed(1)}s`;
  const { rows } = await pool.query<{ deliveryId: string; attempt: number; at: Date; outcome: string; code: string }>(
    `SELECT delivery_id AS "deliveryId", attempt, at, outcome, code FROM delivery_attempts
     WHERE delivery_id = ANY($1::uuid[]) ORDER BY id`,
    [doubled.map((d) => d.delivery.id)],
  );
  return doubled.map(({ delivery, arrivals }) => {
    const attempts = rows
      .filter((r) => r.deliveryId === delivery.id)
      .map((r) => `#${r.attempt} ${r.outcome}${r.code ? `(${r.code})` : ''}@${since(r.at)}`);
    return (
      `${delivery.channel} ${delivery.id} (${delivery.status}, claimed ${delivery.claims}): ` +
      `received ${arrivals.map(since).join(', ')}; attempts ${attempts.join(' ') || 'none'}`
    );
  });
}

function countBy(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}
