import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface ConsoleFile {
  body: Buffer;
  contentType: string;
  /** Vite names the files it builds under assets/ by their content hash: they never change under their name. */
  immutable: boolean;
}

/**
 * The console's built files (`npm run build:console` writes them to dist/console). Found from the
 * repository root, which holds package.json both in a checkout and in the image, so the compiled
 * api (dist/apps/api/…) and the sources run by the tests find the same folder.
 */
export class ConsoleFiles {
  readonly root: string;
  private readonly assets: string;

  constructor(root = join(repositoryRoot(__dirname), 'dist', 'console')) {
    this.root = resolve(root);
    this.assets = join(this.root, 'assets') + sep;
  }

  /** The file at `path` under the build folder; undefined when there is none (or `path` leaves the folder). */
  async read(path: string): Promise<ConsoleFile | undefined> {
    const file = resolve(this.root, `.${sep}${path}`);
    if (!file.startsWith(this.root + sep)) return undefined;
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    return {
      body: await readFile(file),
      contentType: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      // From where the file is, not how it was asked for: `assets/../index.html` is the page, never immutable.
      immutable: file.startsWith(this.assets),
    };
  }
}

function repositoryRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
