import { processEnv, startProcess, type LogLine, type RunningProcess } from './processes';

export interface ProcessSpec {
  name: string;
  app: 'api' | 'worker';
  /** worker roles, comma-separated */
  roles?: string;
}

interface Slot extends ProcessSpec {
  current?: RunningProcess;
  starts: number;
  kills: number;
  /** exits nobody asked for (a crash, a failed boot) */
  crashes: number;
}

const RESTART_DELAY_MS = 1000;
// Node's own deprecation notices on stderr (a dependency's), not Herald's errors
const NODE_WARNING = /^\(node:\d+\) \[?\w+\]? ?\w*Warning|^\(Use `node --trace-warnings/;
const isReady = (line: LogLine) =>
  String(line.msg).startsWith('worker running roles') || String(line.msg).startsWith('api listening');

/**
 * Herald's processes as a container platform runs them: real entry points, each restarted a
 * second after it exits, whatever the reason (kill -9, a boot that failed while Redis was down).
 */
export class Supervisor {
  private readonly slots: Slot[];
  private stopping = false;
  /** every process that ran, for the logs at the end */
  readonly history: RunningProcess[] = [];

  constructor(
    specs: ProcessSpec[],
    private readonly env: Record<string, string>,
  ) {
    this.slots = specs.map((spec) => ({ ...spec, starts: 0, kills: 0, crashes: 0 }));
  }

  /** Starts every process and waits until each says it runs. */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.launch(slot).waitForLog(isReady, 240_000)));
  }

  names(app?: ProcessSpec['app']): string[] {
    return this.slots.filter((s) => !app || s.app === app).map((s) => s.name);
  }

  /** kill -9; the process comes back a second later. */
  kill(name: string): void {
    const slot = this.slot(name);
    slot.kills++;
    slot.current?.child.kill('SIGKILL');
  }

  /** Waits until the named process (or all) has started again and says it runs. */
  async ready(name?: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const slot of name ? [this.slot(name)] : this.slots) {
      for (;;) {
        const current = slot.current;
        const alive = current && current.child.exitCode === null && current.child.signalCode === null;
        if (alive && current.logs.some(isReady)) break;
        if (Date.now() > deadline) throw new Error(`${slot.name} did not come back in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /** starts, kills and unplanned exits per process */
  stats(): Record<string, { starts: number; kills: number; crashes: number }> {
    return Object.fromEntries(
      this.slots.map((s) => [s.name, { starts: s.starts, kills: s.kills, crashes: s.crashes }]),
    );
  }

  /** Error-level log lines (pino level ≥ 50) of every process that ran, and what crashed processes said on stderr. */
  errors(): string[] {
    return this.history.flatMap((p) => [
      ...p.logs.filter((l) => (l.level ?? 0) >= 50).map((l) => JSON.stringify(l).slice(0, 600)),
      ...p
        .stderr()
        .split('\n')
        .filter((line) => line.trim() && !NODE_WARNING.test(line)),
    ]);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map((slot) => slot.current?.stop('SIGKILL')));
  }

  private slot(name: string): Slot {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot) throw new Error(`no process named ${name}`);
    return slot;
  }

  private launch(slot: Slot): RunningProcess {
    const args = slot.app === 'worker' ? ['--roles', slot.roles ?? ''] : [];
    const child = startProcess(slot.app, args, processEnv(this.env));
    slot.current = child;
    slot.starts++;
    this.history.push(child);
    const killsBefore = slot.kills;
    void child.exited.then(() => {
      if (this.stopping) return;
      if (slot.kills === killsBefore) slot.crashes++;
      setTimeout(() => {
        if (!this.stopping) this.launch(slot);
      }, RESTART_DELAY_MS);
    });
    return child;
  }
}
