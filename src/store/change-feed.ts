/**
 * @module store/change-feed
 * The catch-up of the stores' change feeds, shared by both backends. Every write appends a row to a
 * change table; a store that hears of new rows (SQLite: its poller saw `data_version` move;
 * PostgreSQL: a notification or a reconnection) reads the rows after the last one it has seen and
 * decides here what to tell its listeners. How it hears and how it reads stay with the backend.
 */
import type { IdentityChange } from '../spec/identity.js';
import { type ChangeRowFields, toChange } from './identity-records.js';

/** Calls every listener; one that throws must not keep the change from the others (or stop the feed). */
export function notifyAll<T>(listeners: ReadonlySet<(value: T) => void>, value: T): void {
  for (const listener of [...listeners]) {
    try {
      listener(value);
    } catch {
      // the other listeners still hear of it
    }
  }
}

/**
 * Whether change rows this reader has not seen were pruned (it slept through their retention): it must
 * then tell its listeners about everything instead (a resynchronisation).
 */
export function missedPrunedChanges(prunedThrough: number | string, lastSeen: number): boolean {
  return Number(prunedThrough) > lastSeen;
}

/** What a page of identity change rows tells listeners. */
export interface DecodedChanges {
  /** The readable changes, in order (a row written by a newer Reins is skipped). */
  readonly changes: IdentityChange[];
  /** The id of the last row: the reader has now seen up to here. */
  readonly lastId: number | undefined;
  /**
   * A row could not be read: its change must neither stall the feed nor go unreported, so the reader
   * tells listeners everything after these changes.
   */
  readonly damaged: boolean;
}

export function decodeChanges(rows: readonly ChangeRowFields[]): DecodedChanges {
  const changes: IdentityChange[] = [];
  let damaged = false;
  for (const row of rows) {
    try {
      const change = toChange(row);
      if (change !== undefined) changes.push(change);
    } catch {
      damaged = true;
    }
  }
  const last = rows.at(-1);
  return { changes, lastId: last === undefined ? undefined : Number(last.id), damaged };
}

/** The oversight records a page of change rows names, each once, in the order first named. */
export interface ChangedRecords {
  readonly approvals: string[];
  readonly sessions: string[];
}

export function changedRecords(rows: readonly { kind: string; ref: string }[]): ChangedRecords {
  const approvals = new Set<string>();
  const sessions = new Set<string>();
  for (const row of rows) {
    if (row.kind === 'approval') approvals.add(row.ref);
    else if (row.kind === 'session') sessions.add(row.ref);
    // another kind was written by a newer Reins: not for this version's listeners
  }
  return { approvals: [...approvals], sessions: [...sessions] };
}
