/**
 * @module test/conformance/counter-store.conformance
 * What every `CounterStore` must do (store/state-stores): reservations that fit are recorded, one
 * that would overshoot records nothing and reports the totals, windows count from `sinceMs`, releases
 * give amounts back, and — the point of a shared store — two instances on one backing (two processes,
 * two replicas) reserving at once never exceed a limit, and what was reserved survives a reopen.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CounterStore, CountRequest } from '../../src/store/state-stores.js';

export interface CounterConformanceBackend {
  readonly name: string;
  /** A fresh backing (file, schema); `open` may be called several times (each: another process). */
  create(): Promise<{
    open(): Promise<{ counters: CounterStore; close(): Promise<void> }>;
    destroy(): Promise<void>;
  }>;
}

/** Entries are timed by the store (PostgreSQL: the server's clock), so tests use the real time. */
function count(key: string, amount: number, max: number, windowMs = 60_000): CountRequest {
  return { key, amount, max, sinceMs: Date.now() - windowMs };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function counterStoreConformance(backend: CounterConformanceBackend): void {
  describe(`counter store conformance: ${backend.name}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const step of cleanup.splice(0).reverse()) await step();
    });

    async function fresh() {
      const backing = await backend.create();
      cleanup.push(() => backing.destroy());
      const open = async () => {
        const opened = await backing.open();
        cleanup.push(() => opened.close());
        return opened.counters;
      };
      return { open };
    }

    it('records a reservation that fits and refuses one that would overshoot, reporting the totals', async () => {
      const counters = await (await fresh()).open();
      expect(await counters.reserve('d1', Date.now(), [count('k', 3, 5)])).toEqual({ ok: true });
      expect(await counters.reserve('d2', Date.now(), [count('k', 2, 5)])).toEqual({ ok: true });
      const refused = await counters.reserve('d3', Date.now(), [count('k', 1, 5)]);
      expect(refused.ok).toBe(false);
      if (!refused.ok) expect(refused.totals.get('k')).toBe(5);
      expect((await counters.totals([{ key: 'k', sinceMs: 0 }])).get('k')).toBe(5);
    });

    it('records all counts of a call or none of them', async () => {
      const counters = await (await fresh()).open();
      await counters.reserve('d1', Date.now(), [count('b', 1, 1)]);
      const refused = await counters.reserve('d2', Date.now(), [count('a', 1, 10), count('b', 1, 1)]);
      expect(refused.ok).toBe(false);
      if (!refused.ok)
        expect([...refused.totals.entries()].sort()).toEqual([
          ['a', 0],
          ['b', 1],
        ]);
      expect((await counters.totals([{ key: 'a', sinceMs: 0 }])).get('a')).toBe(0);
    });

    it('counts only what is inside the window, and keeps keys apart', async () => {
      const counters = await (await fresh()).open();
      await counters.reserve('old', Date.now(), [count('k', 4, 5)]);
      await counters.reserve('other', Date.now(), [count('j', 4, 5)]);
      await pause(400);
      // a window of 200 ms no longer reaches the first entry
      expect(await counters.reserve('new', Date.now(), [count('k', 5, 5, 200)])).toEqual({ ok: true });
      expect((await counters.reserve('over', Date.now(), [count('k', 1, 5, 200)])).ok).toBe(false);
      const totals = await counters.totals([
        { key: 'k', sinceMs: Date.now() - 200 },
        { key: 'k2', sinceMs: 0 },
      ]);
      expect(totals.get('k')).toBe(5);
      expect(totals.get('k2')).toBe(0);
    });

    it('gives a released reservation back, once', async () => {
      const counters = await (await fresh()).open();
      await counters.reserve('d1', Date.now(), [count('k', 2, 3), count('j', 1, 3)]);
      await counters.reserve('d2', Date.now(), [count('k', 1, 3)]);
      await counters.release('d1');
      await counters.release('d1');
      const totals = await counters.totals([
        { key: 'k', sinceMs: 0 },
        { key: 'j', sinceMs: 0 },
      ]);
      expect(totals.get('k')).toBe(1);
      expect(totals.get('j')).toBe(0);
    });

    it('sums fractional running totals exactly enough to hold a limit', async () => {
      const counters = await (await fresh()).open();
      for (let index = 0; index < 10; index++)
        expect((await counters.reserve(`d${index}`, Date.now(), [count('sum', 0.1, 1.0000001)])).ok).toBe(
          true,
        );
      expect((await counters.reserve('over', Date.now(), [count('sum', 0.1, 1.0000001)])).ok).toBe(false);
    });

    it('prunes what no window reaches any more', async () => {
      const counters = await (await fresh()).open();
      await counters.reserve('old', Date.now(), [count('k', 1, 5)]);
      await pause(400);
      const between = Date.now() - 200;
      await counters.reserve('new', Date.now(), [count('k', 1, 5)]);
      expect(await counters.prune(between)).toBe(1);
      expect((await counters.totals([{ key: 'k', sinceMs: 0 }])).get('k')).toBe(1);
    });

    it('never exceeds a limit when two instances on one store reserve at the same time', async () => {
      const store = await fresh();
      const instances = [await store.open(), await store.open()];
      const attempts = Array.from({ length: 60 }, (_, index) =>
        (instances[index % 2] as CounterStore).reserve(`d${index}`, Date.now(), [count('shared', 1, 25)]),
      );
      const results = await Promise.all(attempts);
      expect(results.filter((result) => result.ok)).toHaveLength(25);
      expect(
        (await (instances[0] as CounterStore).totals([{ key: 'shared', sinceMs: 0 }])).get('shared'),
      ).toBe(25);
    });

    it('keeps reservations across a reopen (a restart)', async () => {
      const store = await fresh();
      const first = await store.open();
      await first.reserve('d1', Date.now(), [count('k', 4, 5)]);
      const second = await store.open();
      expect((await second.reserve('d2', Date.now(), [count('k', 2, 5)])).ok).toBe(false);
      expect((await second.reserve('d3', Date.now(), [count('k', 1, 5)])).ok).toBe(true);
    });
  });
}
