import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';

export type SandboxChannel = 'email' | 'sms' | 'push' | 'webhook';

/** One thing a sandbox provider received, as shown on the /sandbox page and asserted by tests. */
export interface SandboxRecord {
  id: string;
  channel: SandboxChannel;
  at: Date;
  /** the address, phone number, device token or URL it was sent to */
  to: string;
  /** one line for lists: a subject, an SMS body, a push title, a webhook's event type */
  summary: string;
  /** what the provider answered */
  outcome: 'accepted' | 'rejected';
  /** the provider's error code and message when rejected */
  error?: { code: string; message: string };
  /** everything else worth showing (rendered html, headers, payload, …) */
  detail: Record<string, unknown>;
}

const MAX_RECORDS = 5000;

/** Keeps what the sandboxes of one process received, newest first, bounded. */
export class SandboxRecorder extends EventEmitter {
  private readonly records: SandboxRecord[] = [];

  add(record: Omit<SandboxRecord, 'id' | 'at'>): SandboxRecord {
    const full: SandboxRecord = { id: randomUUID(), at: new Date(), ...record };
    this.records.unshift(full);
    if (this.records.length > MAX_RECORDS) this.records.length = MAX_RECORDS;
    this.emit('record', full);
    return full;
  }

  list(filter: { channel?: SandboxChannel; to?: string; limit?: number } = {}): SandboxRecord[] {
    return this.records
      .filter((r) => (!filter.channel || r.channel === filter.channel) && (!filter.to || r.to === filter.to))
      .slice(0, filter.limit ?? MAX_RECORDS);
  }

  clear(): void {
    this.records.length = 0;
  }
}
