/**
 * @module test/support/eventually
 * The one way a test waits for something another process, thread or timer does: poll a check until it
 * holds or a deadline passes. A check is an assertion (`expect(...)` inside), a predicate (returns
 * `false` until it holds) or a read (throws until the value is there, e.g. with `present`). On timeout
 * the failure says what was awaited, for how long, and the last error the check threw, so a test that
 * times out reads like a failed `expect`, not like "condition not met".
 *
 *   await eventually(() => expect(log.lines()).toContain('ready'));
 *   const id = await eventually(() => present(pending().find(isMine), 'no held call yet').id);
 */

export interface EventuallyOptions {
  /** How long to keep trying, in ms. Default 10 s: well inside the 30 s test timeout. */
  readonly timeoutMs?: number;
  /** The pause between two tries, in ms. Default 50. */
  readonly intervalMs?: number;
  /** What is awaited, for the failure message (a function: evaluated only on failure). */
  readonly what?: string | (() => string);
}

/** Thrown by a check to stop waiting at once (e.g. the process that would have done it exited). */
export class StopWaiting extends Error {
  override readonly name = 'StopWaiting';
}

const NOT_YET = Symbol('not yet');

/**
 * Calls `check` until it returns without throwing and without returning `false`, then returns its
 * result. A `StopWaiting` thrown by the check fails at once; past the deadline it fails with the last
 * error (or "returned false").
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  options: EventuallyOptions = {},
): Promise<Exclude<T, false>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 50;
  const started = Date.now();
  let tries = 0;
  let last: unknown = NOT_YET;
  for (;;) {
    tries++;
    try {
      const result = await check();
      if (result !== false) return result as Exclude<T, false>;
      last = NOT_YET;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      last = error;
    }
    if (Date.now() - started >= timeoutMs) throw timedOut(options, timeoutMs, tries, last);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `value` when it is there; else throws `message`: turns a read into a check for `eventually`. */
export function present<T>(value: T | undefined | null, message: string | (() => string)): T {
  if (value === undefined || value === null)
    throw new Error(typeof message === 'function' ? message() : message);
  return value;
}

function timedOut(options: EventuallyOptions, timeoutMs: number, tries: number, last: unknown): Error {
  const what = typeof options.what === 'function' ? options.what() : (options.what ?? 'the check');
  const lastly =
    last === NOT_YET
      ? 'the last try returned false'
      : `the last try failed with: ${last instanceof Error ? last.message : String(last)}`;
  return new Error(`${what} did not hold within ${timeoutMs} ms (${tries} tries); ${lastly}`, {
    cause: last === NOT_YET ? undefined : last,
  });
}
