import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MAX_KEPT_RECORDS, SandboxRecorder } from './recorder';

describe('SandboxRecorder kept in a file', () => {
  let dir: string;
  let file: string;
  const record = (n: number) => ({
    channel: 'sms' as const,
    to: '+15005550006',
    summary: `m${n}`,
    outcome: 'accepted' as const,
    detail: { n },
  });
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'herald-records-'));
    file = path.join(dir, 'sandbox-records.jsonl');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes back what an earlier process kept, newest first, with its dates', () => {
    const before = new SandboxRecorder();
    before.keepIn(file);
    const first = before.add(record(1));
    before.add(record(2));
    appendFileSync(file, '{"torn": '); // a kill in the middle of a write

    const after = new SandboxRecorder();
    after.keepIn(file);
    after.add(record(3));
    expect(after.list().map((r) => r.summary)).toEqual(['m3', 'm2', 'm1']);
    expect(after.list()[2]).toEqual({ ...first, at: first.at });
    expect(after.list()[2]!.at).toBeInstanceOf(Date);
  });

  it(`keeps the newest ${MAX_KEPT_RECORDS} on disk, however many were sent`, () => {
    const recorder = new SandboxRecorder();
    recorder.keepIn(file);
    for (let n = 1; n <= 2 * MAX_KEPT_RECORDS + 10; n++) recorder.add(record(n));
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(2 * MAX_KEPT_RECORDS);
    const reloaded = new SandboxRecorder();
    reloaded.keepIn(file);
    const summaries = reloaded.list().map((r) => r.summary);
    expect(summaries).toHaveLength(MAX_KEPT_RECORDS);
    expect(summaries[0]).toBe(`m${2 * MAX_KEPT_RECORDS + 10}`);
    expect(new Set(summaries).size).toBe(MAX_KEPT_RECORDS);
  });
});
