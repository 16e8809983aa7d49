/**
 * @module store/private-files
 * Everything Reins writes (stores and their -wal/-shm files, tool pins, exports, label indexes) is
 * private to the user running it: directories are created 0700 and files 0600, and the umask can only
 * make them stricter. The store holds the audit log and the identities; nobody else on the machine
 * needs to read it. Existing files and directories keep the mode the operator gave them.
 *
 * What is created here is also made to last: the name of each new directory and file is synced into
 * its parent (store/directory-sync), so that a power loss right after a store was created cannot take
 * the store away with records SQLite had already synced into it.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fsyncDirectorySync } from './directory-sync.js';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Syncs a directory's names to disk (tests watch it; the default is the real one). */
export type SyncDirectory = (path: string) => void;

/**
 * Creates the directory (and missing parents) 0700, each new one's name synced into its parent; an
 * existing one is left as it is.
 */
export function ensurePrivateDirectory(
  path: string,
  syncDirectory: SyncDirectory = fsyncDirectorySync,
): void {
  const first = mkdirSync(path, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if (first === undefined) return;
  // the new ones are `first` and those below it down to `path`: each one's parent holds its name
  const top = resolve(first);
  for (let directory = resolve(path); ; directory = dirname(directory)) {
    syncDirectory(dirname(directory));
    if (directory === top || directory === dirname(directory)) break;
  }
}

/**
 * Creates a SQLite file 0600 (with its directory 0700), its name synced into the directory, before
 * SQLite opens it: SQLite gives the -wal and -shm files the mode of the database file, so they are
 * private too. An existing file is left as it is.
 */
export function ensurePrivateFile(path: string, syncDirectory: SyncDirectory = fsyncDirectorySync): void {
  if (path === ':memory:' || path === '') return;
  ensurePrivateDirectory(dirname(path), syncDirectory);
  let fd: number;
  try {
    fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
  syncDirectory(dirname(path));
}
