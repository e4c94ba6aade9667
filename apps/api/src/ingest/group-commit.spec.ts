import { GroupCommit } from './group-commit';

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

  it('rejects every caller of a failed flush and keeps serving later ones', async () => {
    let fail = true;
    const gc = new GroupCommit<number, number>(
      async (items) => {
        if (fail) throw new Error('db down');
        return items;
      },
      10,
      1,
    );
    const first = gc.submit([1]);
    const second = gc.submit([2]);
    await expect(first).rejects.toThrow('db down');
    await expect(second).rejects.toThrow('db down');
    fail = false;
    await expect(gc.submit([3])).resolves.toEqual([3]);
  });
});
