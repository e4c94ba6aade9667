import { processEnv, startProcess, type LogLine, type RunningProcess } from './processes';

export interface ProcessSpec {
  name: string;
  app: 'api' | 'worker';
  /** worker roles, comma-separated */
  roles?: string;
  /** this process's own settings, over the supervisor's */
  env?: Record<string, string>;
}

/** One kill -9, from the signal to the process that replaced the victim. */
export interface KillRecord {
  name: string;
  app: ProcessSpec['app'];
  /** the victim's roles (a worker's channels among them) */
  roles: string[];
  pid: number;
  signalAt: number;
  /** when the victim was seen dead (its exit reaped) */
  deadAt: number;
  /** how it was seen to end: 'SIGKILL' unless something else got there first */
  signal: NodeJS.Signals | null;
  /** when the next process of the same name said it runs (undefined: it never did) */
  backAt?: number;
  /** the process that came back */
  next?: RunningProcess;
  /** for the api: requests of the load still unanswered when the signal went */
  inFlight?: number;
}

/** An exit nobody asked for (a crash, a failed boot). */
export interface Crash {
  name: string;
  pid: number;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** whether it had said it runs: if not, its boot failed */
  booted: boolean;
  /** the end of what it said on stderr, and its last error-level log lines */
  said: string;
}

interface Slot extends ProcessSpec {
  current?: RunningProcess;
  starts: number;
}

const RESTART_DELAY_MS = 1000;
// Node's own deprecation notices on stderr (a dependency's), not Herald's errors
const NODE_WARNING = /^\(node:\d+\) \[?\w+\]? ?\w*Warning|^\(Use `node --trace-warnings/;
const isReady = (line: LogLine) =>
  String(line.msg).startsWith('worker running roles') || String(line.msg).startsWith('api listening');

/**
 * A unit of work in a process's log: the api answered an event with 202; a worker ran a delivery
 * (`delivery <status>`), a fan-out or relayed an event (those two at LOG_LEVEL=debug).
 */
export function didWork(app: ProcessSpec['app'], line: LogLine): boolean {
  if (app === 'api') {
    const res = line.res as { statusCode?: number } | undefined;
    return line.msg === 'request completed' && res?.statusCode === 202;
  }
  return /^(delivery \w+|fan-out|relayed)$/.test(String(line.msg));
}

const alive = (p: RunningProcess | undefined): p is RunningProcess =>
  p !== undefined && p.child.exitCode === null && p.child.signalCode === null;

/**
 * Herald's processes as a container platform runs them: real entry points, each restarted a
 * second after it exits, whatever the reason (kill -9, a boot that failed while Redis was down).
 * A kill counts once the victim is seen dead; an exit nobody asked for is a crash.
 */
export class Supervisor {
  private readonly slots: Slot[];
  private stopping = false;
  /** the processes a kill was sent to: their exits are not crashes */
  private readonly doomed = new WeakSet<RunningProcess>();
  /** every process that ran, for the logs at the end */
  readonly history: RunningProcess[] = [];
  readonly kills: KillRecord[] = [];
  readonly crashes: Crash[] = [];

  constructor(
    specs: ProcessSpec[],
    private readonly env: Record<string, string>,
  ) {
    this.slots = specs.map((spec) => ({ ...spec, starts: 0 }));
  }

  /** Starts every process and waits until each says it runs. */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.launch(slot).waitForLog(isReady, 240_000)));
  }

  names(app?: ProcessSpec['app']): string[] {
    return this.slots.filter((s) => !app || s.app === app).map((s) => s.name);
  }

  /**
   * kill -9 of the named process once it runs (a victim still coming back from an earlier kill is
   * waited for): counted when it is seen dead, then waited for until its successor says it runs.
   * `inFlight` is noted on the record (the api's unanswered requests at the signal). Throws when the
   * victim does not die or does not come back: the run then fails on that.
   */
  async kill(name: string, inFlight?: () => number, timeoutMs = 120_000): Promise<KillRecord> {
    const slot = this.slot(name);
    await this.ready(name, timeoutMs);
    const victim = slot.current!;
    this.doomed.add(victim);
    const signalAt = Date.now();
    const unanswered = inFlight?.();
    victim.child.kill('SIGKILL');
    const exit = await within(victim.exited, timeoutMs, `${name} (pid ${victim.child.pid}) was not seen dead`);
    const record: KillRecord = {
      name,
      app: slot.app,
      roles: (slot.roles ?? '').split(',').filter(Boolean),
      pid: victim.child.pid ?? 0,
      signalAt,
      deadAt: exit.at,
      signal: exit.signal,
      ...(unanswered !== undefined && { inFlight: unanswered }),
    };
    this.kills.push(record);
    await this.ready(name, timeoutMs);
    record.backAt = Date.now();
    record.next = slot.current;
    return record;
  }

  /** Waits until the named process (or all) runs and has said so. */
  async ready(name?: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const slot of name ? [this.slot(name)] : this.slots) {
      for (;;) {
        const current = slot.current;
        if (alive(current) && !this.doomed.has(current) && current.logs.some(isReady)) break;
        if (Date.now() > deadline) throw new Error(`${slot.name} did not come back in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** starts, kills seen and crashes per process */
  stats(): Record<string, { starts: number; kills: number; crashes: number }> {
    return Object.fromEntries(
      this.slots.map((s) => [
        s.name,
        {
          starts: s.starts,
          kills: this.kills.filter((k) => k.name === s.name && k.signal === 'SIGKILL').length,
          crashes: this.crashes.filter((c) => c.name === s.name).length,
        },
      ]),
    );
  }

  /** How many units of work (see didWork) `process` did while it ran. */
  work(app: ProcessSpec['app'], process: RunningProcess): number {
    return process.logs.filter((line) => didWork(app, line)).length;
  }

  /**
   * Error-level log lines (pino level ≥ 50) of every process that ran, with their time, and what
   * processes said on stderr (no time).
   */
  errors(): { at?: number; text: string }[] {
    return this.history.flatMap((p) => [
      ...p.logs
        .filter((l) => (l.level ?? 0) >= 50)
        .map((l) => ({ at: typeof l.time === 'number' ? l.time : undefined, text: JSON.stringify(l).slice(0, 600) })),
      ...p
        .stderr()
        .split('\n')
        .filter((line) => line.trim() && !NODE_WARNING.test(line))
        .map((text) => ({ text })),
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
    const child = startProcess(slot.app, args, processEnv({ ...this.env, ...slot.env }));
    slot.current = child;
    slot.starts++;
    this.history.push(child);
    void child.exited.then(({ code, signal, at }) => {
      if (this.stopping) return;
      if (!this.doomed.has(child)) {
        const errors = child.logs.filter((l) => (l.level ?? 0) >= 50).slice(-3);
        this.crashes.push({
          name: slot.name,
          pid: child.child.pid ?? 0,
          at,
          code,
          signal,
          booted: child.logs.some(isReady),
          said: [...errors.map((l) => JSON.stringify(l)), child.stderr().slice(-600)].join('\n'),
        });
      }
      setTimeout(() => {
        if (!this.stopping) this.launch(slot);
      }, RESTART_DELAY_MS);
    });
    return child;
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
