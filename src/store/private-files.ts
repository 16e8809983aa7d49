/**
 * @module store/private-files
 * Everything Reins writes (stores and their -wal/-shm files, tool pins, exports, label indexes) is
 * private to the user running it: directories are created 0700 and files 0600, and the umask can only
 * make them stricter. The store holds the audit log and the identities; nobody else on the machine
 * needs to read it. Existing files and directories keep the mode the operator gave them.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export const PRIVATE_DIRECTORY_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates the directory (and missing parents) 0700; an existing one is left as it is. */
export function ensurePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
}

/**
 * Creates a SQLite file 0600 (with its directory 0700) before SQLite opens it: SQLite gives the -wal and
 * -shm files the mode of the database file, so they are private too. An existing file is left as it is.
 */
export function ensurePrivateFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  ensurePrivateDirectory(dirname(path));
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
}
