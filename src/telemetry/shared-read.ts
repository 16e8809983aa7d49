/**
 * @module telemetry/shared-read
 * One read shared by every caller for a short while: `/readyz` and `/metrics` are unauthenticated, and
 * what they read from the store (a write-lock probe, the pending approvals) must not run once per
 * request, or a flood of requests becomes a flood of store work (the SQLite reads run on the event
 * loop's thread; PostgreSQL's take pooled connections).
 */

export interface SharedReadOptions {
  /** A result is reused this long after its read started, and always while that read is in flight. */
  readonly reuseMs: number;
  /** The clock (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/**
 * `read`, wrapped: callers within `reuseMs` of the last read's start, or while it is still running,
 * get its promise (its answer, or its failure) instead of starting another.
 */
export function sharedRead<T>(read: () => Promise<T>, options: SharedReadOptions): () => Promise<T> {
  const now = options.now ?? Date.now;
  let last: { at: number; settled: boolean; result: Promise<T> } | undefined;
  return () => {
    const at = now();
    if (last === undefined || (last.settled && at - last.at >= options.reuseMs)) {
      const current = { at, settled: false, result: Promise.resolve().then(read) };
      const settle = () => {
        current.settled = true;
      };
      current.result.then(settle, settle);
      last = current;
    }
    return last.result;
  };
}
