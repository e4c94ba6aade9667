/** How often a sandbox misbehaves on purpose: chaos tests turn it up, then back to zero. */
export interface FaultSettings {
  /** share of requests (0–1) answered with a transient server error (HTTP 5xx, SMTP 451) */
  errorRate: number;
  /** share of requests (0–1) left unanswered for `timeoutMs`, then cut off */
  timeoutRate: number;
  timeoutMs: number;
}

export type Fault = { kind: 'error' } | { kind: 'timeout'; ms: number };

const HEALTHY: FaultSettings = { errorRate: 0, timeoutRate: 0, timeoutMs: 5000 };

/**
 * One sandbox's fault switch, read once per request. A faulty request is never recorded as
 * accepted: the provider did not take the message, so a retry is not a duplicate.
 */
export class FaultInjector {
  private settings: FaultSettings = HEALTHY;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** how many requests were failed on purpose, by kind */
  readonly injected = { error: 0, timeout: 0 };

  set(settings: Partial<FaultSettings>): void {
    const next = { ...this.settings, ...settings };
    for (const rate of [next.errorRate, next.timeoutRate]) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rates are shares between 0 and 1 (got ${rate})`);
    }
    if (next.errorRate + next.timeoutRate > 1) throw new RangeError('errorRate + timeoutRate must not exceed 1');
    this.settings = next;
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  /** Back to answering everything normally. */
  clear(): void {
    this.settings = HEALTHY;
  }

  /** The fault this request gets, if any. */
  next(): Fault | undefined {
    const { errorRate, timeoutRate, timeoutMs } = this.settings;
    const draw = Math.random();
    if (draw < errorRate) {
      this.injected.error++;
      return { kind: 'error' };
    }
    if (draw < errorRate + timeoutRate) {
      this.injected.timeout++;
      return { kind: 'timeout', ms: timeoutMs };
    }
    return undefined;
  }

  /** Waits `ms`, unless the sandbox stops first (then it resolves at once). */
  hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  /** Forgets every pending hold (its connection is cut with the server): called when the sandbox stops. */
  release(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
