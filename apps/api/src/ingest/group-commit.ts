/**
 * Group commit: concurrent callers' items are gathered and written by one `flush` (one
 * transaction), so N requests cost one round trip and one WAL flush instead of N. While a flush
 * is running the next group fills up; no timer, so a lone request is never delayed.
 */
export class GroupCommit<In, Out> {
  private readonly waiting: { items: In[]; resolve: (out: Out[]) => void; reject: (err: unknown) => void }[] = [];
  private running = 0;

  constructor(
    private readonly flush: (items: In[]) => Promise<Out[]>,
    private readonly maxItems: number,
    private readonly maxConcurrent = 2,
  ) {}

  submit(items: In[]): Promise<Out[]> {
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
    this.flush(group.flatMap((g) => g.items))
      .then((out) => {
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
}
