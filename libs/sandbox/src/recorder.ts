import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

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
/** How many records a file keeps across restarts (each may hold a rendered email). */
export const MAX_KEPT_RECORDS = 1000;

/** Keeps what the sandboxes of one process received, newest first, bounded; optionally kept in a file too. */
export class SandboxRecorder extends EventEmitter {
  private readonly records: SandboxRecord[] = [];
  private file?: { path: string; lines: number };

  add(record: Omit<SandboxRecord, 'id' | 'at'>): SandboxRecord {
    const full: SandboxRecord = { id: randomUUID(), at: new Date(), ...record };
    this.records.unshift(full);
    if (this.records.length > MAX_RECORDS) this.records.length = MAX_RECORDS;
    this.keep(full);
    this.emit('record', full);
    return full;
  }

  /**
   * Keeps records in `path` (JSON lines, oldest first) from now on, and takes back the ones kept there
   * before: npm start's /sandbox then still shows what was sent before a restart. The file holds the
   * newest MAX_KEPT_RECORDS, rewritten when it has grown to twice that.
   */
  keepIn(path: string): void {
    const kept = newestKept(path);
    this.records.push(...[...kept].reverse());
    if (this.records.length > MAX_RECORDS) this.records.length = MAX_RECORDS;
    this.file = { path, lines: kept.length };
  }

  // Written at once (sandboxes run in development and tests only): a record is on disk when it is shown.
  private keep(record: SandboxRecord): void {
    if (!this.file) return;
    appendFileSync(this.file.path, `${JSON.stringify(record)}\n`);
    if (++this.file.lines >= 2 * MAX_KEPT_RECORDS) this.file.lines = newestKept(this.file.path).length;
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

/** The newest MAX_KEPT_RECORDS of a file (oldest first), which is rewritten to hold just those. */
function newestKept(path: string): SandboxRecord[] {
  const kept = existsSync(path) ? parseLines(readFileSync(path, 'utf8')).slice(-MAX_KEPT_RECORDS) : [];
  writeFileSync(`${path}.tmp`, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  renameSync(`${path}.tmp`, path);
  return kept;
}

/** Records from JSON lines, dates revived; a torn last line (a kill mid-write) is skipped. */
function parseLines(text: string): SandboxRecord[] {
  return text.split('\n').flatMap((line) => {
    if (!line) return [];
    try {
      const record = JSON.parse(line) as SandboxRecord;
      return [{ ...record, at: new Date(record.at) }];
    } catch {
      return [];
    }
  });
}
