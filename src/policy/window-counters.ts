/**
 * @module policy/window-counters
 * Sliding-window totals for limit rules (call counts, running sums), kept per counter key.
 * An amount is reserved when a call is let through the decision and released if the call then
 * does not run (refused approval, audit failure), so concurrent calls cannot overshoot a limit.
 */
import type { CounterView } from '../spec/tool-call.js';

interface Entry {
  readonly at: number;
  readonly amount: number;
}

export interface Reservation {
  release(): void;
}

export class WindowCounters implements CounterView {
  private readonly entries = new Map<string, Entry[]>();

  /** @param maxWindowMs entries older than this are dropped (the longest window any rule uses). */
  constructor(private readonly maxWindowMs = 31 * 86_400_000) {}

  total(key: string, sinceMs: number): number {
    const list = this.entries.get(key);
    if (list === undefined) return 0;
    let sum = 0;
    for (const entry of list) if (entry.at >= sinceMs) sum += entry.amount;
    return sum;
  }

  reserve(key: string, at: number, amount: number): Reservation {
    const list = this.entries.get(key) ?? [];
    this.prune(list, at);
    const entry: Entry = { at, amount };
    list.push(entry);
    this.entries.set(key, list);
    return {
      release: () => {
        const index = list.indexOf(entry);
        if (index !== -1) list.splice(index, 1);
      },
    };
  }

  private prune(list: Entry[], now: number): void {
    const cutoff = now - this.maxWindowMs;
    let drop = 0;
    while (drop < list.length && (list[drop] as Entry).at < cutoff) drop++;
    if (drop > 0) list.splice(0, drop);
  }
}
