import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DELIVERY_STATUSES, templateSchemas } from '@herald/core';

// docs/reference.md restates two contracts of the code for readers; this keeps it from drifting.
const page = readFileSync(path.join(__dirname, '..', '..', 'docs', 'reference.md'), 'utf8');
const section = (title: string) => page.split(/^## /m).find((s) => s.startsWith(title)) ?? '';

describe('docs/reference.md', () => {
  it('describes every delivery status, and no other', () => {
    const rows = [...section('Delivery statuses').matchAll(/^\| `(\w+)` +\|/gm)].map((m) => m[1]);
    expect(rows.sort()).toEqual([...DELIVERY_STATUSES].sort());
  });

  it("names every channel's template parts", () => {
    const table = section('Template fields per channel');
    for (const [channel, schema] of Object.entries(templateSchemas)) {
      const row = new RegExp(`^\\| \`${channel}\` +\\|(.*)\\|$`, 'm').exec(table)?.[1] ?? '';
      const parts = Object.keys(schema.shape).filter((part) => part !== 'locales');
      expect([channel, parts.filter((part) => !row.includes(`\`${part}\``))]).toEqual([channel, []]);
    }
  });
});
