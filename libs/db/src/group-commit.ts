/** A row that failed when written on its own: the error is kept for that row's caller alone. */
export class RowFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Group commit: concurrent callers' items are gathered and written by one `flush` (one
 * transaction), so N requests cost one round trip and one WAL flush instead of N. While a flush
 * is running the next group fills up; no timer, so a lone request is never delayed.
 *
 * Callers share a statement, so they must not share its failures: when a group's flush fails and
 * `isolate(error)` says the error may be one row's (bad data, rather than Postgres being away), each
 * item is written again on its own; a row that still fails gets a RowFailure and the others their results.
 */
export class GroupCommit<In, Out> {
  private readonly waiting: {
    items: In[];
    resolve: (out: (Out | RowFailure)[]) => void;
    reject: (err: unknown) => void;
  }[] = [];
  private running = 0;

  constructor(
    private readonly flush: (items: In[]) => Promise<Out[]>,
    private readonly maxItems: number,
    private readonly maxConcurrent = 2,
    private readonly isolate: (error: unknown) => boolean = () => true,
  ) {}

  submit(items: In[]): Promise<(Out | RowFailure)[]> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.running >= this.maxConcurrent || this.waiting.length === 0) return;
    const group = [this.waiting.shift()!];
    let size = group[0].items.length;
    while (this.waiting.length && size + this.waiting[0].items.length <= this.maxItems) {
      size += this.waiting[0].items.length;
      group.push(this.waiting.shift()!);
    }
    this.running++;
    const items = group.flatMap((g) => g.items);
    this.flush(items)
      .catch((err) => (items.length > 1 && this.isolate(err) ? this.oneByOne(items) : Promise.reject(err)))
      .then((out: (Out | RowFailure)[]) => {
        let offset = 0;
        for (const g of group) {
          g.resolve(out.slice(offset, offset + g.items.length));
          offset += g.items.length;
        }
      })
      .catch((err) => group.forEach((g) => g.reject(err)))
      .finally(() => {
        this.running--;
        this.next();
      });
    this.next();
  }

  /** Each item in a flush of its own, one after the other: slow, but only after a group failed. */
  private async oneByOne(items: In[]): Promise<(Out | RowFailure)[]> {
    const out: (Out | RowFailure)[] = [];
    for (const item of items) {
      out.push(
        await this.flush([item]).then(
          ([result]) => result!,
          (err) => new RowFailure(err),
        ),
      );
    }
    return out;
  }
}
