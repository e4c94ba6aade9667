import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isolatedEnv, type IsolatedEnv } from '../helpers/herald';
import { ensureBuilt, killStarted, startDevHerald } from '../helpers/processes';

// The commands of the README and of docs/ (README first, then the pages by name), taken from the pages
// themselves (so the two cannot drift), run as written by bash
// against `npm start`'s entry in a fresh folder: every curl must get a 2xx, and every sample answer the
// README shows (`# → {…}`, `…` for what varies) must match what came back.

const ROOT = path.join(__dirname, '..', '..');
/** The README, then every docs/ page by name: the walk-through sets $ADMIN and $INGEST for the rest. */
const PAGES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .sort()
    .map((n) => `docs/${n}`),
];

/** The ```bash blocks that talk to Herald (curl), in page order, unindented; `where` is page:line. */
function readmeBlocks(page: string, markdown: string): { where: string; script: string }[] {
  const blocks: { where: string; script: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```bash\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^ *```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    if (body.some((l) => /^\s*(\w+=\$\()?curl /.test(l)))
      blocks.push({ where: `${page}:${i + 1}`, script: body.join('\n') });
    i = j;
  }
  return blocks;
}

/** `# → {…}` sample lines (alone or after a command) become calls that record the sample beside the last answer. */
function withSamples(script: string): string {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return script
    .split('\n')
    .map((line) => {
      const alone = /^\s*# → (.*)$/.exec(line);
      if (alone) return `__sample ${quote(alone[1]!)}`;
      const after = /^(.*\S)\s+# → (.*)$/.exec(line);
      return after && !after[1]!.trimStart().startsWith('#') ? `${after[1]}; __sample ${quote(after[2]!)}` : line;
    })
    .join('\n');
}

// Every curl of the README goes through this: the answer is printed as curl would print it (so `$(curl …)`
// captures it), and its status, the arguments and the body are logged for the test to read.
const PRELUDE = `
curl() {
  local body; body=$(mktemp)
  local status; status=$(command curl -sS --max-time 5 -o "$body" -w '%{http_code}' "$@" 2>/dev/null)
  node -e 'const fs = require("fs"); fs.appendFileSync(process.env.README_LOG, JSON.stringify({ status: Number(process.argv[1]), args: process.argv.slice(3).join(" "), body: fs.readFileSync(process.argv[2], "utf8") }) + "\\n")' "$status" "$body" "$@"
  cat "$body"; rm -f "$body"
}
__block() {
  node -e 'require("fs").appendFileSync(process.env.README_LOG, JSON.stringify({ block: process.argv[1] }) + "\\n")' "$1"
}
__sample() {
  node -e 'require("fs").appendFileSync(process.env.README_LOG, JSON.stringify({ sample: process.argv[1] }) + "\\n")' "$1"
}
`;

interface Call {
  status: number;
  args: string;
  body: string;
  line: string;
}

/** Whether `actual` has the sample's shape: its keys, and its values but where the sample says "…". */
function matchesSample(line: string, actual: unknown): string | undefined {
  // The sample is the JSON object that starts the line; words after it are the README's comment.
  let depth = 0;
  let end = 0;
  for (; end < line.length; end++) {
    if (line[end] === '{') depth++;
    if (line[end] === '}' && --depth === 0) break;
  }
  const sample = line.slice(0, end + 1);
  const open = /,\s*…\s*}$/.test(sample);
  const expected = JSON.parse(sample.replace(/,\s*…\s*}$/, '}').replace(/"…"/g, '"__ANY__"')) as Record<
    string,
    unknown
  >;
  if (!actual || typeof actual !== 'object') return `answered ${JSON.stringify(actual)}`;
  const got = actual as Record<string, unknown>;
  for (const [key, value] of Object.entries(expected)) {
    if (!(key in got)) return `no "${key}" in ${JSON.stringify(got)}`;
    if (value !== '__ANY__' && JSON.stringify(got[key]) !== JSON.stringify(value)) {
      return `"${key}" is ${JSON.stringify(got[key])}, the README says ${JSON.stringify(value)}`;
    }
  }
  const extra = Object.keys(got).filter((key) => !(key in expected));
  return !open && extra.length ? `more than the README shows: ${extra.join(', ')}` : undefined;
}

describe('the commands of the README and docs/, as written, against npm start', () => {
  let isolated: IsolatedEnv;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    await ensureBuilt();
    isolated = await isolatedEnv('readme');
    dir = await mkdtemp(path.join(os.tmpdir(), 'herald-readme-'));
    port = (await startDevHerald(isolated.env, path.join(dir, '.herald'))).port;
  }, 240_000);
  afterAll(async () => {
    await killStarted();
    await isolated?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every curl of every block gets a 2xx, and every sample answer is what comes back', async () => {
    const blocks = (
      await Promise.all(PAGES.map(async (page) => readmeBlocks(page, await readFile(path.join(ROOT, page), 'utf8'))))
    ).flat();
    const log = path.join(dir, 'calls.jsonl');
    // One bash for every block, in README order, in the folder npm start ran from: variables carry over.
    const script = path.join(dir, 'readme.sh');
    const body = blocks
      .map((b) => `__block ${b.where}\n${withSamples(b.script.replaceAll('localhost:3000', `localhost:${port}`))}`)
      .join('\n');
    await writeFile(script, `${PRELUDE}\n${body}\n`);
    const run = spawnSync('bash', [script], {
      cwd: dir,
      env: { ...process.env, README_LOG: log },
      encoding: 'utf8',
      timeout: 180_000,
    });
    const calls: Call[] = [];
    // Anything bash or a command said on stderr is a command that did not run as written (curl's own
    // errors are its status, below).
    const problems: string[] = run.stderr.trim() ? [`bash said: ${run.stderr.trim().slice(0, 1000)}`] : [];
    let line = '';
    for (const text of (await readFile(log, 'utf8')).split('\n').filter(Boolean)) {
      const entry = JSON.parse(text) as Omit<Call, 'line'> | { sample: string } | { block: string };
      if ('block' in entry) {
        line = entry.block;
      } else if ('sample' in entry) {
        const last = calls[calls.length - 1];
        let answer: unknown;
        try {
          answer = JSON.parse(last?.body ?? '');
        } catch {
          answer = last?.body;
        }
        const mismatch = entry.sample.startsWith('{') ? matchesSample(entry.sample, answer) : undefined;
        if (mismatch) problems.push(`${line}: curl ${last?.args}: ${mismatch}`);
      } else {
        entry.args = entry.args.replace(/Bearer \S+/g, 'Bearer …');
        calls.push({ ...entry, line });
        if (entry.status < 200 || entry.status >= 300) {
          problems.push(`${line}: ${entry.status} for curl ${entry.args}: ${entry.body.slice(0, 300)}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The extraction found the walk-through, the admin flow and the sections' examples: not a vacuous pass.
    expect(blocks.length).toBeGreaterThanOrEqual(7);
    expect(calls.length).toBeGreaterThanOrEqual(25);
    // docs/mcp.md: what an assistant is told about the walk-through's event (issue 24's "done when")
    expect(run.stdout).toMatch(/^\d+ recent order\.shipped events? for subscriber alice, newest first:$/m);
    expect(run.stdout).toMatch(/^- inapp: sent at \S+Z through inapp; it is in the subscriber's inbox\.$/m);
    expect(run.stdout).toMatch(
      /^- email: sent at \S+Z through smtp \(provider message id <[^>]+>\); the provider took it/m,
    );
  });

  /** `npm run example:<name>` against this Herald, as the README says to run it. */
  const example = (name: string) =>
    spawnSync('npm', ['run', '--silent', `example:${name}`], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, HERALD_URL: `http://localhost:${port}`, HERALD_DATA_DIR: path.join(dir, '.herald') },
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('npm run example:admin (the admin flow with the typed client) runs to its end', () => {
    const run = example('admin');
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(/^revoked key [0-9a-f-]{36}$/m);
    expect(run.stdout).toMatch(/^webhook: sent after 1 attempt\(s\)$/m);
    expect(run.stdout).toMatch(
      /^audit log: POST \/v1\/webhook-endpoints; PUT \/v1\/subscribers\/:subscriberId\/preferences; PUT \/v1\/subscribers\/:subscriberId$/m,
    );
  });

  it('npm run example:client (the typed-client example) runs to final deliveries', () => {
    const run = example('client');
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toMatch(/^event [0-9a-f-]{36} accepted\n/);
    // In-app and email from the example's rule; the webhook endpoint the admin flow subscribed to order.shipped.
    expect(run.stdout.split('\n').slice(1).filter(Boolean).sort()).toEqual([
      'email: sent after 1 attempt(s)',
      'inapp: sent after 1 attempt(s)',
      'webhook: sent after 1 attempt(s)',
    ]);
  });
});
