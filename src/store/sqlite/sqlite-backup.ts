/**
 * @module store/sqlite/sqlite-backup
 * Backup and restore of the embedded store (docs/decisions/0024). A backup is SQLite's online backup
 * API run in one step, so it is one consistent snapshot of every table (audit log, checkpoints,
 * captured state, identities, users, approvals, counters) taken while the gateway keeps writing (WAL:
 * the reader blocks nobody). The copy is switched out of WAL mode so that it is one self-contained file.
 * A restore copies a backup beside the store, and only once it is ready moves the old store aside and
 * renames the copy into place: a failure on the way leaves the old store as it was.
 */
import { closeSync, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { GENESIS_HASH } from '../../audit/chain.js';
import type { BackupTail } from '../../spec/backup.js';
import { ReinsError } from '../../spec/errors.js';
import { anchorSql, parseAnchor } from '../audit-records.js';
import { PRIVATE_FILE_MODE } from '../private-files.js';

/** Pages per backup step: all of them, so the copy is one snapshot (a restarted step would not be). */
const ALL_PAGES = 0x7fffffff;

/** Copies the store at `source` to the new file `destination` (0600) while writers go on. */
export async function backupSqliteStore(source: string, destination: string): Promise<BackupTail> {
  if (!existsSync(source)) throw new ReinsError('not_found', `no store at \`${source}\``);
  // created private before SQLite writes a byte of it: the backup holds what the store holds
  closeSync(openSync(destination, 'wx', PRIVATE_FILE_MODE));
  const database = new Database(source, { readonly: true, fileMustExist: true });
  try {
    await database.backup(destination, { progress: () => ALL_PAGES });
  } finally {
    database.close();
  }
  const copy = new Database(destination, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
    return tailOf(copy);
  } finally {
    copy.close();
  }
}

/** The last record of the log in a SQLite store (the pruning anchor when none is left; seq 0: empty). */
export function sqliteStoreTail(path: string): BackupTail {
  const database = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return tailOf(database);
  } finally {
    database.close();
  }
}

function tailOf(database: Database.Database): BackupTail {
  const row = database
    .prepare<[], { seq: number; hash: string }>(
      'select seq, hash from audit_events order by seq desc limit 1',
    )
    .get();
  if (row !== undefined) return { seq: Number(row.seq), hash: row.hash };
  const anchor = parseAnchor(database.prepare<[], { value: string }>(anchorSql('audit_meta')).get()?.value);
  return anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: GENESIS_HASH };
}

/**
 * Is the store at `path` open in another process (a gateway that was not stopped)? An exclusive lock
 * is refused while any connection has the file open in WAL mode. A file that is not a store at all
 * (damaged: the reason to restore) is not in use.
 */
export function sqliteStoreInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  let database: Database.Database | undefined;
  try {
    database = new Database(path, { fileMustExist: true, timeout: 0 });
    database.pragma('locking_mode = exclusive');
    database.exec('begin exclusive; commit');
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'SQLITE_BUSY';
  } finally {
    database?.close();
  }
}

/**
 * Puts the prepared copy `ready` in place of the store at `target`. The store it replaces (if any),
 * with its -wal and -shm files, is kept as `<target>.replaced-<stamp>`: a stale -wal left beside the
 * restored file would be replayed into it by SQLite. Returns where the old store went.
 */
export function replaceSqliteStore(ready: string, target: string, stamp: string): string | undefined {
  let keptAs: string | undefined;
  for (const suffix of ['', '-wal', '-shm']) {
    const path = `${target}${suffix}`;
    if (!existsSync(path)) continue;
    const aside = `${target}.replaced-${stamp}${suffix}`;
    renameSync(path, aside);
    if (suffix === '') keptAs = aside;
  }
  renameSync(ready, target);
  for (const suffix of ['-wal', '-shm']) rmSync(`${ready}${suffix}`, { force: true });
  return keptAs;
}

/**
 * The schema objects of the SQLite file at `path` that Reins never creates (triggers, views), as
 * `type name`: a backup holding one was changed by someone else, and a trigger would run inside every
 * later write of the gateway.
 */
export function foreignSqliteObjects(path: string): string[] {
  const database = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return database
      .prepare<[], { type: string; name: string }>(
        "select type, name from sqlite_master where type in ('trigger', 'view') order by name",
      )
      .all()
      .map(({ type, name }) => `${type} ${name}`);
  } finally {
    database.close();
  }
}
