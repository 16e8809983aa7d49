/**
 * @module store/directory-sync
 * fsync of a directory: a new file's or subdirectory's name is in its parent directory, and after a
 * power loss (not a crashed process: the kernel keeps what it was given) a name whose directory was
 * never synced may be gone, taking the file with it, however well the file's own contents were synced.
 * The audit log's WAL file (sqlite/sqlite-wal-sync) and every store file Reins creates
 * (private-files) have their names synced before anything in them counts as durable.
 */
import { closeSync, fsync, fsyncSync, openSync } from 'node:fs';

/** A directory that could not be opened to be synced: unlike a failed fsync, nothing was lost. */
export class DirectoryNotOpened extends Error {
  constructor(override readonly cause: unknown) {
    super(`cannot open the directory to sync it: ${message(cause)}`);
  }
}

/** Opens a directory to sync it (undefined on Windows, which cannot open one: nothing to do there). */
function openDirectory(path: string): number | undefined {
  if (process.platform === 'win32') return undefined;
  try {
    return openSync(path, 'r');
  } catch (error) {
    throw new DirectoryNotOpened(error);
  }
}

/** fsyncs a directory in the thread pool, so the names in it are on disk. */
export async function fsyncDirectory(path: string): Promise<void> {
  const fd = openDirectory(path);
  if (fd === undefined) return;
  try {
    await new Promise<void>((resolve, reject) => fsync(fd, (error) => (error ? reject(error) : resolve())));
  } finally {
    closeSync(fd);
  }
}

/** fsyncs a directory at once (creating a store: rare, and before anything is written to it). */
export function fsyncDirectorySync(path: string): void {
  const fd = openDirectory(path);
  if (fd === undefined) return;
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
