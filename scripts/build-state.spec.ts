import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BUILT, buildStaleness } from './build-state';

describe('buildStaleness (npm start builds only when it must)', () => {
  let root: string;
  const at = (file: string, seconds: number) => {
    const full = path.join(root, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, '');
    utimesSync(full, seconds, seconds);
  };
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'herald-build-state-'));
    at('apps/api/src/main.ts', 1_000);
    at('libs/core/src/index.ts', 1_000);
    at('package.json', 1_000);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('builds when dist/ or one of its outputs is missing', () => {
    expect(buildStaleness(root)).toBe('dist/ has not been built yet');
    for (const file of BUILT.slice(1)) at(file, 2_000);
    expect(buildStaleness(root)).toBe('dist/ has not been built yet');
  });

  it('starts at once when everything built is newer than every source', () => {
    for (const file of BUILT) at(file, 2_000);
    expect(buildStaleness(root)).toBeNull();
  });

  it('names the source that changed since the oldest output', () => {
    for (const file of BUILT) at(file, 2_000);
    at(BUILT[3]!, 1_500); // the console built before the change below
    at('libs/core/src/changed.ts', 1_800);
    expect(buildStaleness(root)).toBe(`${path.join('libs', 'core', 'src', 'changed.ts')} changed since the last build`);
  });

  it('ignores what builds write among the sources (the Prisma client, packages dist/) and node_modules', () => {
    for (const file of BUILT) at(file, 2_000);
    at('libs/db/src/generated/client.ts', 3_000);
    at('libs/mcp/dist/bin.js', 3_000);
    at('libs/client/dist/index.d.ts', 3_000);
    at('apps/console/node_modules/x/index.js', 3_000);
    expect(buildStaleness(root)).toBeNull();
  });
});
