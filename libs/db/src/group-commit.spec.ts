import { GroupCommit, RowFailure } from './group-commit';

describe('GroupCommit', () => {
  it('groups concurrent submissions and gives each caller its own results in order', async () => {
    const flushes: number[][] = [];
    const gc = new GroupCommit<number, number>(
      async (items) => {
        flushes.push(items);
        await new Promise((r) => setTimeout(r, 5));
        return items.map((i) => i * 10);
      },
      100,
      1,
    );
    const results = await Promise.all([gc.submit([1]), gc.submit([2, 3]), gc.submit([4]), gc.submit([5])]);
    expect(results).toEqual([[10], [20, 30], [40], [50]]);
    expect(flushes).toEqual([[1], [2, 3, 4, 5]]);
  });

  it('never puts more than maxItems in one flush, except a single larger submission', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommit<number, number>(async (items) => (sizes.push(items.length), items), 3, 1);
    await Promise.all([gc.submit([1]), gc.submit([2, 3]), gc.submit([4, 5]), gc.submit([6, 7, 8, 9])]);
    expect(sizes).toEqual([1, 2, 2, 4]);
  });

  it("retries a failed group row by row: one caller's bad row fails that row only", async () => {
    const flushes: number[][] = [];
    const gc = new GroupCommit<number, number>(
      async (items) => {
        flushes.push(items);
        await new Promise((r) => setTimeout(r, 5));
        if (items.includes(-1)) throw new Error('unsupported Unicode escape sequence');
        return items.map((i) => i * 10);
      },
      100,
      1,
    );
    const [first, good, mixed] = await Promise.all([gc.submit([1]), gc.submit([2, 3]), gc.submit([4, -1, 5])]);
    expect(first).toEqual([10]);
    expect(good).toEqual([20, 30]);
    expect(mixed.slice(0, 1)).toEqual([40]);
    expect(mixed[1]).toBeInstanceOf(RowFailure);
    expect((mixed[1] as RowFailure).error).toEqual(new Error('unsupported Unicode escape sequence'));
    expect(mixed[2]).toBe(50);
    expect(flushes).toEqual([[1], [2, 3, 4, -1, 5], [2], [3], [4], [-1], [5]]);
  });

  it('rejects every caller of a group that failed for a reason no row causes, and keeps serving later ones', async () => {
    let fail = true;
    let calls = 0;
    const gc = new GroupCommit<number, number>(
      async (items) => {
        calls++;
        if (fail) throw new Error('db down');
        return items;
      },
      10,
      1,
      (err) => (err as Error).message !== 'db down',
    );
    const first = gc.submit([1]);
    const second = gc.submit([2]);
    const third = gc.submit([3]);
    await expect(first).rejects.toThrow('db down');
    await expect(second).rejects.toThrow('db down');
    await expect(third).rejects.toThrow('db down');
    expect(calls).toBe(2); // [1], then [2, 3] once: not retried row by row
    fail = false;
    await expect(gc.submit([4])).resolves.toEqual([4]);
  });
});
