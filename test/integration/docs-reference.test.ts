import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DELIVERY_STATUSES, templateSchemas } from '@herald/core';
import { configSchema } from '../../libs/config/src/config.schema';

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

describe('docs/ as a whole', () => {
  const root = path.join(__dirname, '..', '..');
  const pages = readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md'));
  const everything = [readFileSync(path.join(root, 'README.md'), 'utf8')]
    .concat(pages.map((name) => readFileSync(path.join(root, 'docs', name), 'utf8')))
    .join('\n');

  it('is linked page by page from the README', () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(pages.filter((name) => !readme.includes(`](docs/${name})`))).toEqual([]);
  });

  it('documents every setting Herald reads (a `PREFIX_<CHANNEL>` row covers its family)', () => {
    const families = [...everything.matchAll(/`([A-Z][A-Z0-9_]*_)<[A-Z]+>`/g)].map((m) => m[1]!);
    const settings = Object.keys(configSchema.shape);
    const missing = settings.filter(
      (name) => !everything.includes(`\`${name}\``) && !families.some((prefix) => name.startsWith(prefix)),
    );
    expect(missing).toEqual([]);
  });
});
