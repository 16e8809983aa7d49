/**
 * @module gateway/progress-relay
 * The progress notifications of one client request, whoever they come from: Reins's own while the call
 * waits for approval, then the upstream's while the tool runs. The client asked for them with its own
 * `progressToken`, and they all go out under it, so that a client waiting on progress
 * (`resetTimeoutOnProgress`) keeps waiting for as long as the tool works, not only for the approval.
 *
 * What the upstream sends is its text: only `progress`, `total` and a screened `message` are passed on,
 * never the rest of its notification. Values only ever increase, as MCP requires of progress: the
 * upstream's count on from where Reins's waiting notes left off (elapsed seconds), and one that would
 * go back (a careless or hostile upstream) is not passed on.
 */

/** A progress notification's content, without the token (the relay adds the client's). */
export interface ProgressUpdate {
  readonly progress: number;
  readonly total?: number;
  readonly message?: string;
}

/**
 * Screens an upstream progress message: the text to pass on, or undefined to drop it (a finding the
 * policy blocks, or a failure to screen: fail closed).
 */
export type ProgressScreen = (message: string) => string | undefined;

export class ProgressRelay {
  /** The last value sent to the client (none yet: -Infinity, so that any first value goes out). */
  private last = Number.NEGATIVE_INFINITY;
  /** Where the upstream's count starts: the last waiting note's value, fixed at its first update. */
  private base: number | undefined;

  /** @param send sends one update to the client under its token; must not throw. */
  constructor(private readonly send: (update: ProgressUpdate) => void) {}

  /** Reins's own note while the call is held (its text is Reins's, not the upstream's). */
  waiting(elapsedSeconds: number, message: string): void {
    this.emit({ progress: elapsedSeconds, message });
  }

  /** One update from the upstream for this call: rebased, its message screened, nothing else kept. */
  upstream(
    update: { progress: number; total?: number | undefined; message?: string | undefined },
    screen: ProgressScreen,
  ): void {
    if (!Number.isFinite(update.progress)) return;
    this.base ??= Math.max(this.last, 0);
    const progress = this.base + update.progress;
    if (progress <= this.last) return; // progress must increase: this one would go back
    const total =
      typeof update.total === 'number' && Number.isFinite(update.total)
        ? this.base + update.total
        : undefined;
    const message = typeof update.message === 'string' ? screen(update.message) : undefined;
    this.emit({
      progress,
      ...(total === undefined ? {} : { total }),
      ...(message === undefined ? {} : { message }),
    });
  }

  private emit(update: ProgressUpdate): void {
    if (update.progress <= this.last) return;
    this.last = update.progress;
    this.send(update);
  }
}
