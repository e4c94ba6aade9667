import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.join(__dirname, '..');

export interface NodeProcess {
  child: ChildProcess;
  pid: number;
  /** the first line the process prints on stdout */
  firstLine(): Promise<string>;
  /** highest VmRSS seen by the sampler, and the samples (MB) */
  rss: { peakMb: number; samples: number[] };
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`) */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<NodeProcess>();

/**
 * `node <file> …args` (TypeScript files through bench/register.js), its RSS sampled from
 * /proc/<pid>/status every `sampleMs`. Output other than the first stdout line is kept only for
 * the error message when the process dies early.
 */
export function startNode(
  file: string,
  args: string[],
  env: Record<string, string>,
  nodeArgs: string[] = [],
  sampleMs = 200,
  cwd = ROOT,
): NodeProcess {
  const hook = file.endsWith('.ts') ? ['-r', path.join(__dirname, 'register.js')] : [];
  const child = spawn(process.execPath, [...nodeArgs, ...hook, file, ...args], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let lineWaiter: ((line: string) => void) | undefined;
  let failWaiter: ((error: Error) => void) | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    output = (output + chunk).slice(-20_000);
    const newline = output.indexOf('\n');
    if (lineWaiter && newline >= 0) lineWaiter(output.slice(0, newline));
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-20_000)));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      clearInterval(sampler);
      failWaiter?.(new Error(`${path.basename(file)} exited (${code ?? signal}): ${output.slice(-3000)}`));
      resolve();
    }),
  );
  const rss = { peakMb: 0, samples: [] as number[] };
  const sampler = setInterval(() => {
    const mb = rssMb(child.pid!);
    if (mb === undefined) return;
    rss.samples.push(mb);
    rss.peakMb = Math.max(rss.peakMb, mb);
  }, sampleMs);
  const proc: NodeProcess = {
    child,
    pid: child.pid!,
    rss,
    firstLine: () =>
      new Promise((resolve, reject) => {
        lineWaiter = resolve;
        failWaiter = reject;
        const newline = output.indexOf('\n');
        if (newline >= 0) resolve(output.slice(0, newline));
      }),
    async stop(graceMs = 15_000) {
      running.delete(proc);
      failWaiter = undefined;
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  running.add(proc);
  return proc;
}

/** Kills whatever this run started and is still running (the harness failed half-way). */
export function killAll(): void {
  for (const proc of running) proc.child.kill('SIGKILL');
  running.clear();
}

/** Resident set size in MB, from /proc (Linux), or undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}
