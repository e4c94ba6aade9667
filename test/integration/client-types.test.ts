import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { CLIENT_TYPES_FILE, REGENERATE_COMMAND, clientTypes } from '../../scripts/generate-client-types';

const ROOT = join(__dirname, '..', '..');

/** The first lines where two texts differ, with a little context, for the failure message. */
function firstDifference(committed: string, current: string): string {
  const a = committed.split('\n');
  const b = current.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  const line = at === -1 ? a.length : at;
  const show = (lines: string[], sign: string) =>
    lines
      .slice(Math.max(0, line - 2), line + 4)
      .map((l) => `${sign} ${l}`)
      .join('\n');
  return `first difference at line ${line + 1}:\n--- committed\n${show(a, '-')}\n+++ from the current document\n${show(b, '+')}`;
}

/** Type errors of libs/client when its openapi.ts is replaced by `types` (nothing is written to disk). */
function clientTypeErrors(types: string): string[] {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), (path) => ts.sys.readFile(path));
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const host = ts.createCompilerHost({ ...options, noEmit: true, incremental: false });
  const readFile = host.readFile.bind(host);
  host.readFile = (path) => (path === CLIENT_TYPES_FILE ? types : readFile(path));
  const program = ts.createProgram({
    rootNames: ['index.ts', 'herald-client.spec.ts'].map((file) => join(ROOT, 'libs', 'client', 'src', file)),
    options: { ...options, noEmit: true, incremental: false },
    host,
  });
  return ts
    .getPreEmitDiagnostics(program)
    .slice(0, 10)
    .map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return message;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${relative(ROOT, d.file.fileName)}:${line + 1}: ${message}`;
    });
}

describe("@herald/client's types and the api's OpenAPI document", () => {
  let current: string;
  beforeAll(async () => {
    current = await clientTypes();
  });

  it(`libs/client/src/openapi.ts is what the current document generates (else: ${REGENERATE_COMMAND})`, async () => {
    const committed = await readFile(CLIENT_TYPES_FILE, 'utf8');
    if (committed !== current) {
      throw new Error(
        `libs/client/src/openapi.ts is out of date with the api: run \`${REGENERATE_COMMAND}\` and commit it.\n` +
          firstDifference(committed, current),
      );
    }
  });

  it('the client and its tests compile against the types of the current document', () => {
    expect(clientTypeErrors(current)).toEqual([]);
  });
});
