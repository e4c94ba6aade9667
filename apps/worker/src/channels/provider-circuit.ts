export interface CircuitSettings {
  /** retryable answers in a row that open the circuit; 0: circuits off */
  failures: number;
  /** the run of failures must fit in this window, from its first */
  windowMs: number;
  /** how long an open circuit stays open */
  cooldownMs: number;
}

interface CircuitState {
  /** failures in the current run */
  run: number;
  /** when the run began */
  since: number;
  /** open until then (0: closed) */
  openUntil: number;
  /** opened and not closed by a success since: after the cool-down one failure opens it again (half-open) */
  tripped: boolean;
}

/**
 * Circuit breakers, one per provider, kept in this worker process: each worker learns on its own
 * that a provider is failing (after `failures` answers), with no Redis round trip on the send path.
 * An open circuit does not refuse sends: it tells the chain to try that provider last.
 */
export class ProviderCircuits {
  private readonly states = new Map<string, CircuitState>();

  constructor(
    private readonly settings: CircuitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  isOpen(provider: string): boolean {
    return (this.states.get(provider)?.openUntil ?? 0) > this.now();
  }

  /** When the provider's circuit closes again (0 when it is closed). */
  openUntil(provider: string): number {
    const until = this.states.get(provider)?.openUntil ?? 0;
    return until > this.now() ? until : 0;
  }

  /** Records a provider's answer; returns true when this failure opened its circuit. */
  record(provider: string, ok: boolean): boolean {
    if (this.settings.failures === 0) return false;
    if (ok) {
      this.states.delete(provider);
      return false;
    }
    const now = this.now();
    const state = this.states.get(provider);
    if (state?.tripped) {
      // a trial after the cool-down failed (or a call that started before the circuit opened)
      const wasOpen = state.openUntil > now;
      state.openUntil = now + this.settings.cooldownMs;
      return !wasOpen;
    }
    const current =
      state && now - state.since <= this.settings.windowMs
        ? { ...state, run: state.run + 1 }
        : { run: 1, since: now, openUntil: 0, tripped: false };
    if (current.run >= this.settings.failures) {
      current.tripped = true;
      current.openUntil = now + this.settings.cooldownMs;
    }
    this.states.set(provider, current);
    return current.tripped;
  }
}
