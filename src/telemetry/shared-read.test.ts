/**
 * @module telemetry/shared-read.test
 * A read shared by concurrent callers and reused for a while: one read however many ask, a new one
 * once the window has passed and the last read has settled. A fake clock, no timing.
 */
import { describe, expect, it } from 'vitest';
import { sharedRead } from './shared-read.js';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('sharedRead', () => {
  it('runs one read for concurrent callers and reuses its answer within the window', async () => {
    let clock = 0;
    let reads = 0;
    const shared = sharedRead(async () => ++reads, { reuseMs: 1_000, now: () => clock });
    expect(await Promise.all(Array.from({ length: 100 }, () => shared()))).toEqual(Array(100).fill(1));
    clock = 999;
    expect(await shared()).toBe(1);
    clock = 1_000;
    expect(await shared()).toBe(2);
    expect(reads).toBe(2);
  });

  it('does not start a second read while the first is still running, however long it takes', async () => {
    let clock = 0;
    let reads = 0;
    const slow = deferred<number>();
    const shared = sharedRead(
      () => {
        reads += 1;
        return slow.promise;
      },
      { reuseMs: 1_000, now: () => clock },
    );
    const first = shared();
    clock = 5_000;
    const second = shared();
    await Promise.resolve(); // let the first read start
    expect(reads).toBe(1);
    slow.resolve(7);
    expect(await Promise.all([first, second])).toEqual([7, 7]);
  });

  it('shares a failure within the window and reads again after it', async () => {
    let clock = 0;
    let reads = 0;
    const shared = sharedRead(
      async () => {
        reads += 1;
        if (reads === 1) throw new Error('store away');
        return 'back';
      },
      { reuseMs: 1_000, now: () => clock },
    );
    await expect(shared()).rejects.toThrow('store away');
    await expect(shared()).rejects.toThrow('store away');
    clock = 1_000;
    await expect(shared()).resolves.toBe('back');
    expect(reads).toBe(2);
  });
});
