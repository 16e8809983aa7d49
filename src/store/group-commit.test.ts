/**
 * @module store/group-commit.test
 * Group commit: batching, order, failure propagation, and drain under continuous load.
 */
import { describe, expect, it } from 'vitest';
import { GroupCommitQueue } from './group-commit.js';

describe('GroupCommitQueue', () => {
  it('writes appends issued in one turn as one batch, in order', async () => {
    const batches: number[][] = [];
    const queue = new GroupCommitQueue<number, number>((items) => {
      batches.push([...items]);
      return items.map((item) => item * 10);
    });
    expect(await Promise.all([1, 2, 3].map((item) => queue.enqueue(item)))).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('fails every item of a failed batch, and the next batch still works', async () => {
    let calls = 0;
    const queue = new GroupCommitQueue<number, number>((items) => {
      if (++calls === 1) throw new Error('disk full');
      return [...items];
    });
    const first = Promise.allSettled([queue.enqueue(1), queue.enqueue(2)]);
    expect((await first).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await queue.enqueue(3)).toBe(3);
  });

  it('drains what was enqueued before, even while appends keep coming', async () => {
    const queue = new GroupCommitQueue<number, number>(async (items) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return [...items];
    });
    let stop = false;
    const appenders = Array.from({ length: 20 }, async () => {
      while (!stop) await queue.enqueue(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const drained = await Promise.race([
      queue.drain().then(() => 'drained'),
      new Promise((resolve) => setTimeout(() => resolve('stuck'), 2_000)),
    ]);
    stop = true;
    await Promise.all(appenders);
    expect(drained).toBe('drained');
  });

  it('drains a batch that settles after a later one (a causal log answers an outcome before an earlier fsync)', async () => {
    const releases: (() => void)[] = [];
    const queue = new GroupCommitQueue<string, string>(
      async (items) => {
        // the first batch waits to be released; later ones settle at once
        if (items.includes('slow')) await new Promise<void>((resolve) => releases.push(resolve));
        return [...items];
      },
      { maxInFlight: 4 },
    );
    const slow = queue.enqueue('slow');
    await new Promise((resolve) => setImmediate(resolve));
    let drained = false;
    const drain = queue.drain().then(() => {
      drained = true;
    });
    await queue.enqueue('fast');
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(drained).toBe(false);
    expect(queue.pending).toBe(2);
    releases[0]?.();
    await Promise.all([slow, drain]);
    expect(drained).toBe(true);
    expect(queue.pending).toBe(0);
  });

  it('rejects appends after close', async () => {
    const queue = new GroupCommitQueue<number, number>((items) => [...items]);
    await queue.close();
    await expect(queue.enqueue(1)).rejects.toThrow(/closed/);
  });
});
