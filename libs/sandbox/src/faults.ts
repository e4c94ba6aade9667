/** How often a sandbox misbehaves on purpose: chaos tests turn it up, then back to zero. */
export interface FaultSettings {
  /** share of requests (0–1) answered with a transient server error (HTTP 5xx, SMTP 451) */
  errorRate: number;
  /** share of requests (0–1) left unanswered for `timeoutMs`, then cut off */
  timeoutRate: number;
  /**
   * share of requests (0–1) whose message is taken (recorded as accepted, as a provider that got it)
   * but whose answer is lost: held for `timeoutMs`, then the connection is cut. The sender sees a
   * timeout although the provider has the message, so its retry is a real duplicate.
   */
  lostAnswerRate: number;
  timeoutMs: number;
}

export type Fault = { kind: 'error' } | { kind: 'timeout'; ms: number } | { kind: 'lostAnswer'; ms: number };

/** What a sandbox puts in a record's `detail.fault` when it took a message and then lost the answer. */
export const LOST_ANSWER = 'answer lost';

const HEALTHY: FaultSettings = { errorRate: 0, timeoutRate: 0, lostAnswerRate: 0, timeoutMs: 5000 };

/**
 * One sandbox's fault switch, read once per request. An error or a timeout is never recorded as
 * accepted: the provider did not take the message, so a retry is not a duplicate. A lost answer is
 * recorded as accepted, with `detail.fault` set to LOST_ANSWER: the provider took it, and a retry is one.
 */
export class FaultInjector {
  private settings: FaultSettings = HEALTHY;
  /**
   * The kinds each set() owes before drawing at random: a window starts with one fault of every kind it
   * has a rate for, so a short window (or a channel that sends little in it) still meets each kind, and a
   * test may count on having seen them.
   */
  private owed: Fault['kind'][] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** how many requests were failed on purpose, by kind */
  readonly injected = { error: 0, timeout: 0, lostAnswer: 0 };

  set(settings: Partial<FaultSettings>): void {
    const next = { ...this.settings, ...settings };
    const rates = [next.errorRate, next.timeoutRate, next.lostAnswerRate];
    for (const rate of rates) {
      if (!(rate >= 0 && rate <= 1)) throw new RangeError(`fault rates are shares between 0 and 1 (got ${rate})`);
    }
    if (rates.reduce((a, b) => a + b) > 1) {
      throw new RangeError('errorRate + timeoutRate + lostAnswerRate must not exceed 1');
    }
    this.settings = next;
    this.owed = (['error', 'timeout', 'lostAnswer'] as const).filter((_, i) => rates[i] > 0);
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  /** Back to answering everything normally. */
  clear(): void {
    this.settings = HEALTHY;
    this.owed = [];
  }

  /** The fault this request gets, if any: first what the window owes, then at the set rates. */
  next(): Fault | undefined {
    const { errorRate, timeoutRate, lostAnswerRate, timeoutMs } = this.settings;
    const owed = this.owed.shift();
    // A draw that lands in the owed kind's share, so the counting below stays in one place.
    const draw =
      owed === 'error'
        ? 0
        : owed === 'timeout'
          ? errorRate
          : owed === 'lostAnswer'
            ? errorRate + timeoutRate
            : Math.random();
    if (draw < errorRate) {
      this.injected.error++;
      return { kind: 'error' };
    }
    if (draw < errorRate + timeoutRate) {
      this.injected.timeout++;
      return { kind: 'timeout', ms: timeoutMs };
    }
    if (draw < errorRate + timeoutRate + lostAnswerRate) {
      this.injected.lostAnswer++;
      return { kind: 'lostAnswer', ms: timeoutMs };
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
