/**
 * @module policy/window-counters
 * Sliding-window totals for limit rules (call counts, running sums), kept per counter key.
 * An amount is reserved when a call is let through the decision and released if the call then
 * does not run (refused approval, audit failure), so concurrent calls cannot overshoot a limit.
 *
 * Each key keeps its entries in time order with a running sum, so a lookup costs amortised O(1):
 * entries that fall out of the window are dropped from the front as time advances. A key belongs to
 * one rule and so to one window length.
 */
import type { CounterView } from '../spec/tool-call.js';

interface Entry {
  readonly at: number;
  amount: number;
}

interface Window {
  entries: Entry[];
  /** Index of the first entry still inside the window. */
  start: number;
  /** Sum of the amounts from `start` on. */
  sum: number;
}

export interface Reservation {
  release(): void;
}

export class WindowCounters implements CounterView {
  private readonly windows = new Map<string, Window>();

  total(key: string, sinceMs: number): number {
    const window = this.windows.get(key);
    if (window === undefined) return 0;
    this.advance(window, sinceMs);
    return window.sum;
  }

  reserve(key: string, at: number, amount: number): Reservation {
    let window = this.windows.get(key);
    if (window === undefined) {
      window = { entries: [], start: 0, sum: 0 };
      this.windows.set(key, window);
    }
    const entry: Entry = { at, amount };
    window.entries.push(entry);
    window.sum += amount;
    const owner = window;
    return {
      release: () => {
        // zero the entry in place: removing it would shift the indexes the window relies on
        if (entry.amount === 0) return;
        if (owner.entries.indexOf(entry) >= owner.start) owner.sum -= entry.amount;
        entry.amount = 0;
      },
    };
  }

  /** Drops entries older than `sinceMs` from the running sum, compacting the array now and then. */
  private advance(window: Window, sinceMs: number): void {
    const { entries } = window;
    while (window.start < entries.length && (entries[window.start] as Entry).at < sinceMs) {
      window.sum -= (entries[window.start] as Entry).amount;
      window.start++;
    }
    if (window.start > 1_024 && window.start * 2 > entries.length) {
      entries.splice(0, window.start);
      window.start = 0;
    }
    if (window.sum < 1e-9 && window.sum > -1e-9) window.sum = 0; // float drift from adding and removing
  }
}
