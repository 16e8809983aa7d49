/**
 * @module store/sqlite/sqlite-change-poller
 * How an embedded store learns of commits by other connections (other processes on the same file):
 * poll `PRAGMA data_version`, which changes only when another connection commits and costs no I/O,
 * and run the store's catch-up (read its change table after the last row seen) when it moved. Shared
 * by the identity and oversight stores.
 */
import type Database from 'better-sqlite3';

export class SqliteChangePoller {
  private readonly dataVersion: Database.Statement<[], number>;
  private timer: NodeJS.Timeout | undefined;
  private seenVersion = -1;

  /**
   * @param catchUp reads the changes after the last one the store has seen and tells its listeners;
   *   may throw (busy, I/O), in which case the next tick tries again
   */
  constructor(
    database: Database.Database,
    private readonly intervalMs: number,
    private readonly catchUp: () => void,
  ) {
    if (!(intervalMs >= 1)) throw new RangeError(`pollIntervalMs must be at least 1, got \`${intervalMs}\``);
    this.dataVersion = database.prepare<[], number>('pragma data_version').pluck();
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.seenVersion = this.dataVersion.get() ?? -1;
    this.timer = setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** After a write through this connection: catch up now (its own commit does not move data_version). */
  afterOwnWrite(): void {
    try {
      this.catchUp();
    } catch {
      // the write is committed: make the next poll read the changes
      this.seenVersion = -1;
    }
  }

  private poll(): void {
    try {
      const version = this.dataVersion.get();
      if (version === this.seenVersion) return;
      this.catchUp();
      // only once caught up: a failed read is retried on the next tick
      this.seenVersion = version ?? -1;
    } catch {
      // busy or a transient I/O error: the next tick tries again
    }
  }
}
