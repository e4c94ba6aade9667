import { Inject, Injectable } from '@nestjs/common';
import { SpanKind } from '@opentelemetry/api';
import { HERALD_CONFIG, type HeraldConfig } from '@herald/config';
import { HeraldMetrics, contextOf, inSpan, traceParentOf } from '@herald/observability';
import { newId, recipientsOf, requestHash, type EventInput } from '@herald/core';
import { EventSchemas } from '../event-types/event-schemas.service';
import { dataErrors } from '../event-types/json-schema';
import type { FieldError } from '../http/problem';
import { unknownTopicWarnings } from './unknown-topics';
import { EventsRepository, GroupCommit, RowFailure, isDatabaseUnavailable, type EventInsert } from '@herald/db';

export interface IngestItem {
  tenantId: string;
  input: EventInput;
  idempotencyKey?: string;
  meta: EventMeta;
}

/** What Herald records about an event besides its content. */
export interface EventMeta {
  correlationId: string;
  /** the tenant key that sent it, or the inbound hook source it came through */
  sender: { keyId: string } | { sourceId: string };
  /** a CloudEvent's context attributes (id, source, specversion, subject, dataschema, extensions) */
  cloudEvent?: Record<string, unknown>;
}

export type IngestOutcome =
  /** `warnings`: what the sender should know though the event was taken (e.g. a topic that does not exist) */
  | { kind: 'accepted'; id: string; warnings?: FieldError[] }
  | { kind: 'replayed'; id: string }
  | { kind: 'key-reused'; id: string }
  /** a request with the same key is being written right now and its event is not stored yet */
  | { kind: 'in-flight' }
  /** Postgres refused this event's row (written on its own, so no other event failed with it) */
  | { kind: 'failed'; error: unknown }
  /** `data` does not match the schema version it was checked against */
  | { kind: 'data-invalid'; version: number; errors: FieldError[] }
  /** the event names a schema version its type does not have */
  | { kind: 'schema-unknown'; version: number };

/**
 * Ingest: validated events become durable rows (event + outbox) before the 202 is sent. Redis is
 * not on this path, so ingest keeps accepting while Redis is down.
 */
@Injectable()
export class IngestUseCase {
  private readonly groupCommit: GroupCommit<EventInsert, boolean>;
  /**
   * Keys of requests this process is still writing. Another request with one of them is answered from
   * what is stored once that write is done: a replay when the key's event exists, 409 when it does not
   * (the first request is really still in flight).
   */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly events: EventsRepository,
    @Inject(HERALD_CONFIG) config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
    private readonly schemas: EventSchemas,
  ) {
    // A group that fails for a reason other than Postgres being away is written again row by row.
    this.groupCommit = new GroupCommit(
      (rows) => this.events.insertMany(rows),
      config.ingest.maxBatch,
      2,
      (err) => !isDatabaseUnavailable(err),
    );
  }

  /**
   * One `herald.ingest` span per request (a batch is one request), a child of the caller's
   * `traceparent` when it sent one; each event row stores the span's traceparent, so the trace goes
   * on through relay, fan-out and delivery.
   */
  ingest(items: IngestItem[], parentTraceParent?: string): Promise<IngestOutcome[]> {
    const attributes = {
      'herald.tenant_id': items[0]?.tenantId ?? '',
      'herald.events': items.length,
      'herald.recipients': items.reduce((n, { input }) => n + (Array.isArray(input.to) ? input.to.length : 1), 0),
      ...(items.length === 1 ? { 'herald.event_type': items[0].input.type } : {}),
      ...(items[0] && { 'herald.correlation_id': items[0].meta.correlationId }),
    };
    return inSpan(
      'herald.ingest',
      { parent: contextOf(parentTraceParent), kind: SpanKind.SERVER, attributes },
      async (span) => {
        const outcomes = await this.ingestIn(items, traceParentOf(span) ?? null);
        span.setAttribute('herald.accepted', outcomes.filter((o) => o.kind === 'accepted').length);
        return outcomes;
      },
    );
  }

  private async ingestIn(items: IngestItem[], traceParent: string | null): Promise<IngestOutcome[]> {
    const outcomes: (IngestOutcome | undefined)[] = new Array(items.length);
    const rows: EventInsert[] = [];
    const rowIndex: number[] = [];
    const claimed = new Map<string, number>(); // key → its row here
    /** events of this call repeating a key an earlier one of it claimed: answered like that one */
    const repeats: { index: number; row: number; hash: string | null }[] = [];
    /** events whose key another request of this process is writing: answered from what is stored */
    const contended: { index: number; row: EventInsert }[] = [];
    const receivedAt = new Date().toISOString();
    const checks = await this.schemas.checksFor(
      items.map((item) => ({ tenantId: item.tenantId, type: item.input.type, version: item.input.schemaVersion })),
    );
    items.forEach((item, i) => {
      const check = checks[i]!;
      if (check && 'missing' in check) return void (outcomes[i] = { kind: 'schema-unknown', version: check.missing });
      const errors = check ? dataErrors(check.validate, item.input.data ?? {}) : [];
      if (errors.length) return void (outcomes[i] = { kind: 'data-invalid', version: check!.version, errors });
      const row = toRow(item, { traceParent, receivedAt, schemaVersion: check?.version ?? null });
      const flightKey = item.idempotencyKey && `${item.tenantId}\u0000${item.idempotencyKey}`;
      if (flightKey) {
        const earlier = claimed.get(flightKey);
        if (earlier !== undefined) return void repeats.push({ index: i, row: earlier, hash: row.requestHash });
        if (this.inFlight.has(flightKey)) return void contended.push({ index: i, row });
        this.inFlight.add(flightKey);
        claimed.set(flightKey, rows.length);
      }
      rows.push(row);
      rowIndex.push(i);
    });

    try {
      const inserted = rows.length ? await this.groupCommit.submit(rows) : [];
      this.metrics.eventsAccepted.inc(inserted.filter((r) => r === true).length);
      const conflicts = rows.filter((_, j) => inserted[j] === false);
      // Looked up after this call's own rows are written, so a retry racing its original sees it stored.
      const existing = await this.findByKeys([...conflicts, ...contended.map((c) => c.row)]);
      const answer = (row: EventInsert) => {
        const first = existing.get(`${row.tenantId}\u0000${row.idempotencyKey}`);
        if (!first) return { kind: 'in-flight' } as const;
        return first.requestHash === row.requestHash
          ? ({ kind: 'replayed', id: first.id } as const)
          : ({ kind: 'key-reused', id: first.id } as const);
      };
      rows.forEach((row, j) => {
        const result = inserted[j];
        outcomes[rowIndex[j]] =
          result instanceof RowFailure
            ? { kind: 'failed', error: result.error }
            : result
              ? { kind: 'accepted', id: row.id }
              : answer(row);
      });
      for (const { index, row } of contended) outcomes[index] = answer(row);
      for (const { index, row, hash } of repeats) {
        const first = outcomes[rowIndex[row]!]!;
        if (!('id' in first)) {
          outcomes[index] = first;
          continue;
        }
        const same = first.kind !== 'key-reused' && hash === rows[row]!.requestHash;
        outcomes[index] = { kind: same ? 'replayed' : 'key-reused', id: first.id };
      }
    } finally {
      claimed.forEach((_, key) => this.inFlight.delete(key));
    }
    const accepted = items.flatMap((item, i) => (outcomes[i]?.kind === 'accepted' ? [{ ...item, index: i }] : []));
    const warnings = await unknownTopicWarnings(this.events, accepted);
    accepted.forEach(({ index }, j) => {
      if (warnings[j])
        outcomes[index] = { ...(outcomes[index] as { kind: 'accepted'; id: string }), warnings: warnings[j] };
    });
    return outcomes as IngestOutcome[];
  }

  /** The stored events holding these rows' keys, by tenant and key. */
  private async findByKeys(rows: EventInsert[]) {
    const found = await this.events.findByKeys(
      rows.map((r) => ({ tenantId: r.tenantId, idempotencyKey: r.idempotencyKey! })),
    );
    return new Map(found.map((r) => [`${r.tenantId}\u0000${r.idempotencyKey}`, r]));
  }
}

function toRow(
  { tenantId, input, idempotencyKey, meta }: IngestItem,
  { traceParent, receivedAt, schemaVersion }: Pick<EventInsert, 'traceParent' | 'receivedAt' | 'schemaVersion'>,
): EventInsert {
  return {
    id: newId(),
    tenantId,
    type: input.type,
    recipients: JSON.stringify(recipientsOf(input)),
    data: JSON.stringify(input.data ?? {}),
    idempotencyKey: idempotencyKey ?? null,
    requestHash: idempotencyKey ? requestHash(contentOf(input)) : null,
    sendAt: input.sendAt ?? null,
    traceParent,
    occurredAt: input.occurredAt ?? receivedAt,
    receivedAt,
    correlationId: meta.correlationId,
    schemaVersion,
    senderKeyId: 'keyId' in meta.sender ? meta.sender.keyId : null,
    senderSourceId: 'sourceId' in meta.sender ? meta.sender.sourceId : null,
    cloudEvent: meta.cloudEvent ? JSON.stringify(meta.cloudEvent) : null,
  };
}

/**
 * What must be the same for a request to be a replay: not `occurredAt`, which a sender rebuilding
 * its event to retry stamps anew (the CloudEvents SDK sets `time` on every build).
 */
function contentOf(input: EventInput): Omit<EventInput, 'occurredAt'> {
  const { occurredAt: _occurredAt, ...content } = input;
  return content;
}
