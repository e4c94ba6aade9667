import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Self time per function of one .cpuprofile (V8's format, as `node --cpu-prof` writes it): each
 * sample's time goes to the node it landed in. Returns the top `limit`, with their share of all samples.
 */
export function topSelfTime(
  file: string,
  limit = 20,
  by: 'function' | 'package' = 'function',
): { name: string; ms: number; share: number }[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const ms = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)!.callFrame;
    const where = frame.url ? `${shorten(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = by === 'package' ? packageOf(frame) : `${frame.functionName || '(anonymous)'} ${where}`.trim();
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    ms.set(name, (ms.get(name) ?? 0) + dt);
    total += dt;
  });
  return [...ms.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, t]) => ({ name, ms: t, share: t / total }));
}

/** The npm package (or project folder, or node: internals, or a V8 pseudo-frame like (idle)) of a frame. */
function packageOf(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const file = shorten(frame.url);
  if (file.startsWith('node:')) return 'node: internals';
  const parts = file.split('/');
  return file.startsWith('dist/')
    ? parts.slice(1, 4).join('/')
    : parts.slice(0, parts[0].startsWith('@') ? 2 : 1).join('/');
}

/** node_modules/<pkg>/… or the project-relative path. */
function shorten(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  return nm >= 0 ? file.slice(nm + 'node_modules/'.length) : path.relative(path.join(__dirname, '..'), file);
}

/** Prints the top self-time functions of every profile in `dir`, largest profile first. */
export function summarizeProfiles(dir: string, limit = 20): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    for (const by of ['package', 'function'] as const) {
      console.log(`\n${file}: top ${limit} ${by === 'package' ? 'packages' : 'functions'} by self time`);
      for (const { name, ms, share } of topSelfTime(path.join(dir, file), limit, by)) {
        console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${ms.toFixed(0).padStart(7)} ms  ${name}`);
      }
    }
  }
}

if (require.main === module) summarizeProfiles(process.argv[2] ?? '.', Number(process.argv[3] ?? 20));
