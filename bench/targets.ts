import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A build of Herald the bench runs: this checkout, or another commit (`--baseline-ref`) built beside it. */
export interface Target {
  /** `current`, or the ref as given */
  label: string;
  /** the commit measured (short sha; `+dirty` when this checkout has uncommitted changes) */
  commit: string;
  root: string;
  entries: { api: string; worker: string; herald: string; migrate: string };
}

const ROOT = path.join(__dirname, '..');

function entriesOf(root: string): Target['entries'] {
  const dist = (...parts: string[]) => path.join(root, 'dist', ...parts);
  return {
    api: dist('apps', 'api', 'src', 'main.js'),
    worker: dist('apps', 'worker', 'src', 'main.js'),
    herald: dist('apps', 'herald', 'src', 'main.js'),
    migrate: dist('scripts', 'migrate.js'),
  };
}

function git(args: string[], cwd = ROOT): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** This checkout (built by the caller with ensureBuilt). */
export function currentTarget(): Target {
  const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
  return {
    label: 'current',
    commit: `${git(['rev-parse', '--short', 'HEAD'])}${dirty ? '+dirty' : ''}`,
    root: ROOT,
    entries: entriesOf(ROOT),
  };
}

/**
 * `ref` checked out as a detached worktree in the temp folder (kept between runs, keyed by its commit),
 * sharing this checkout's node_modules, and built there: the "before" of a before → after table measured in
 * the same run, on the same machine, against the same Redis and Postgres.
 */
export function refTarget(ref: string, log: (line: string) => void): Target {
  const commit = git(['rev-parse', '--short', `${ref}^{commit}`]);
  const root = path.join(os.tmpdir(), `herald-bench-${commit}`);
  if (!existsSync(path.join(root, 'package.json'))) {
    log(`checking out ${ref} (${commit}) into ${root}`);
    git(['worktree', 'add', '--force', '--detach', root, commit]);
  }
  if (!existsSync(path.join(root, 'node_modules')))
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const target = { label: ref, commit, root, entries: entriesOf(root) };
  if (!existsSync(target.entries.herald)) {
    log(`building ${ref} (${commit})`);
    const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`building ${ref} failed: ${built.stdout}\n${built.stderr}`.slice(0, 4000));
  }
  return target;
}
