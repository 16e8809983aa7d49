/**
 * @module test/conformance/counter-store.conformance
 * What every `CounterStore` must do (store/state-stores): reservations that fit are recorded, one
 * that would overshoot records nothing and reports the totals, windows count from `sinceMs`, releases
 * give amounts back, and — the point of a shared store — two instances on one backing (two processes,
 * two replicas) reserving at once never exceed a limit, and what was reserved survives a reopen.
 * Leases (a rollback's single flight): one holder at a time, renewed by it, taken over once lapsed,
 * and exactly one winner when two instances contend.
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

    describe('leases', () => {
      const now = 1_800_000_000_000;

      it('gives a lease to one holder at a time until it lapses, and renews it for its holder', async () => {
        const counters = await (await fresh()).open();
        expect(await counters.acquireLease('rollback/s1', 'a', 1_000, now)).toBe(true);
        expect(await counters.acquireLease('rollback/s1', 'b', 1_000, now + 500)).toBe(false);
        // another key is another lease
        expect(await counters.acquireLease('rollback/s2', 'b', 1_000, now + 500)).toBe(true);
        // the holder renews: until now + 1,500
        expect(await counters.acquireLease('rollback/s1', 'a', 1_000, now + 500)).toBe(true);
        expect(await counters.acquireLease('rollback/s1', 'b', 1_000, now + 1_200)).toBe(false);
        // lapsed (a holder killed with -9 never gives it back): taken over
        expect(await counters.acquireLease('rollback/s1', 'b', 1_000, now + 1_500)).toBe(true);
        expect(await counters.acquireLease('rollback/s1', 'a', 1_000, now + 1_600)).toBe(false);
      });

      it('gives a lease back only for its holder, idempotently', async () => {
        const counters = await (await fresh()).open();
        expect(await counters.acquireLease('k', 'a', 60_000, now)).toBe(true);
        await counters.releaseLease('k', 'b');
        expect(await counters.acquireLease('k', 'b', 60_000, now)).toBe(false);
        await counters.releaseLease('k', 'a');
        await counters.releaseLease('k', 'a');
        await counters.releaseLease('never-taken', 'a');
        expect(await counters.acquireLease('k', 'b', 60_000, now)).toBe(true);
        expect(await counters.acquireLease('k', 'a', 60_000, now)).toBe(false);
      });

      it('refuses a lease without a holder or a positive time to live', async () => {
        const counters = await (await fresh()).open();
        await expect(counters.acquireLease('k', 'a', 0, now)).rejects.toThrow(/ttlMs/);
        await expect(counters.acquireLease('k', 'a', Number.NaN, now)).rejects.toThrow(/ttlMs/);
        await expect(counters.acquireLease('k', '', 1_000, now)).rejects.toThrow(/holder/);
        await expect(counters.acquireLease('k', 'a', 1_000, Number.NaN)).rejects.toThrow(/now/);
      });

      it('lets exactly one of two instances on one store take a contended lease', async () => {
        const store = await fresh();
        const instances = [await store.open(), await store.open()];
        for (let round = 0; round < 20; round++) {
          const key = `rollback/s${round}`;
          const won = await Promise.all(
            instances.map((counters, index) => counters.acquireLease(key, `replica-${index}`, 60_000, now)),
          );
          expect(won.filter(Boolean)).toHaveLength(1);
          const loser = won.indexOf(false);
          // the winner is killed and never releases: the other takes over once the lease lapses
          expect(
            await (instances[loser] as CounterStore).acquireLease(
              key,
              `replica-${loser}`,
              60_000,
              now + 59_999,
            ),
          ).toBe(false);
          expect(
            await (instances[loser] as CounterStore).acquireLease(
              key,
              `replica-${loser}`,
              60_000,
              now + 60_000,
            ),
          ).toBe(true);
        }
      });

      it('keeps a lease across a reopen (a restart)', async () => {
        const store = await fresh();
        const first = await store.open();
        expect(await first.acquireLease('k', 'a', 60_000, now)).toBe(true);
        const second = await store.open();
        expect(await second.acquireLease('k', 'b', 60_000, now + 1)).toBe(false);
        expect(await second.acquireLease('k', 'a', 60_000, now + 1)).toBe(true);
      });
    });
  });
}
