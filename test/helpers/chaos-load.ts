/** One event the load sent, and what the api answered. */
export interface SentEvent {
  tag: string;
  /** the event id, when the api accepted it (202) */
  id?: string;
  /** HTTP status, 0 when the request got no answer (refused, cut, timed out), -1 when it was not sent */
  status: number;
  /** when it was sent (or would have been), and when its answer or error came (Date.now()) */
  sentAt: number;
  doneAt: number;
}

const REQUEST_TIMEOUT_MS = 30_000;
const MAX_IN_FLIGHT = 64;

/**
 * A steady stream of POST /v1/events at `perSecond`, one request per event, each with an
 * Idempotency-Key. What the api answered is kept: only 202s count as accepted.
 */
export class SteadyLoad {
  readonly sent: SentEvent[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();
  private seq = 0;

  constructor(
    private readonly url: string,
    private readonly ingestKey: string,
    private readonly perSecond: number,
    private readonly body: (tag: string, seq: number) => object,
    private readonly runId: string,
  ) {}

  start(): void {
    const interval = 1000 / this.perSecond;
    let due = Date.now();
    const tick = () => {
      // Catch up after a slow tick, so the rate holds over the run.
      while (due <= Date.now()) {
        due += interval;
        if (this.inFlight.size < MAX_IN_FLIGHT) this.fire();
        else this.sent.push({ tag: `${this.runId}-${++this.seq}`, status: -1, sentAt: Date.now(), doneAt: Date.now() });
      }
      this.timer = setTimeout(tick, Math.max(0, due - Date.now()));
    };
    tick();
  }

  /** Stops sending and waits for the answers still due. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all([...this.inFlight]);
  }

  /** requests sent and not answered yet */
  inFlightNow(): number {
    return this.inFlight.size;
  }

  /** Resolves with the number of requests in flight as soon as there is one (0 after `timeoutMs`). */
  async whileInFlight(timeoutMs = 10_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
    return this.inFlight.size;
  }

  accepted(): (SentEvent & { id: string })[] {
    return this.sent.filter((e): e is SentEvent & { id: string } => e.status === 202 && e.id !== undefined);
  }

  /** how many requests got each status (0: no answer, -1: not sent, too many in flight) */
  statuses(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const e of this.sent) counts[e.status] = (counts[e.status] ?? 0) + 1;
    return counts;
  }

  private fire(): void {
    const seq = ++this.seq;
    const event: SentEvent = { tag: `${this.runId}-${seq}`, status: 0, sentAt: Date.now(), doneAt: 0 };
    this.sent.push(event);
    const request = fetch(`${this.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.ingestKey}`,
        'content-type': 'application/json',
        'idempotency-key': event.tag,
      },
      body: JSON.stringify(this.body(event.tag, seq)),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (response) => {
        event.status = response.status;
        const answer = (await response.json().catch(() => undefined)) as { id?: string } | undefined;
        if (response.status === 202) event.id = answer?.id;
      })
      .catch(() => undefined)
      .finally(() => {
        event.doneAt = Date.now();
        this.inFlight.delete(request);
      });
    this.inFlight.add(request);
  }
}
