/**
 * @module store/sqlite/sqlite-wal-sync
 * Makes the commits of a SQLite audit file durable for `causal` durability (decision 0028): its
 * connections commit without an fsync (synchronous=NORMAL), and this fsyncs the write-ahead log (WAL)
 * file itself, in the thread pool, so the event loop goes on meanwhile. An `fdatasync` of the WAL file
 * flushes every page of it in the operating system's cache — every commit before it, whichever
 * connection or process wrote it — which is what SQLite does at a commit under synchronous=FULL.
 *
 * Syncs are grouped: one is under way at a time, and everyone who asks meanwhile shares the next one
 * (which starts after their commits). Each reports the seq the log is durable through: the head it
 * read before its fsync began.
 */
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ReinsError } from '../../spec/errors.js';
import { DirectoryNotOpened, fsyncDirectory } from '../directory-sync.js';

/** Syncs between two checks that the WAL file is still the one open. */
const CHECK_EVERY = 1_000;

export class WalSync {
  /** Every record up to this seq is known durable. */
  through = 0;
  private fd: number | undefined;
  private inode: number | undefined;
  private sinceCheck = 0;
  private current: Promise<number> | undefined;
  private queued: Promise<number> | undefined;
  private queuedForce = false;
  private failed: Error | undefined;
  /** A WAL file was opened whose directory entry has not been synced yet. */
  private directoryPending = false;

  /**
   * @param walPath the `-wal` file beside the database (its real path: SQLite names it after the
   *   database with symlinks resolved); it stays the same file while any connection is open (a
   *   checkpoint rewinds it, never replaces it), and the caller holds one
   * @param head reads the log's last committed seq
   * @param syncDirectory fsyncs a directory (tests watch it; the default is the real one); throws
   *   `DirectoryNotOpened` when it could not even open it (that round fails, later ones try again)
   */
  constructor(
    private readonly walPath: string,
    private readonly head: () => number,
    private readonly syncDirectory: (path: string) => Promise<void> = fsyncDirectory,
  ) {}

  /** Why no sync can be trusted any more (a failed fsync may have dropped pages): fail closed. */
  get failure(): Error | undefined {
    return this.failed;
  }

  /**
   * Resolves with the seq the log is durable through, once an fsync that began after this call has
   * finished (so every commit made before the call is covered; `force`: even when the last record
   * looks durable already, for a commit the head does not show, such as a checkpoint). Rejects, now
   * and from then on, once an fsync has failed.
   */
  sync(options: { force?: boolean } = {}): Promise<number> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    const force = options.force === true;
    if (this.current === undefined) return this.start(force);
    // the sync under way may have begun before the caller's commit: share the next one
    this.queuedForce ||= force;
    this.queued ??= this.current
      .catch(() => 0)
      .then(() => {
        const forced = this.queuedForce;
        this.queued = undefined;
        this.queuedForce = false;
        return this.failed !== undefined ? Promise.reject(this.failed) : this.start(forced);
      });
    return this.queued;
  }

  /** Resolves once record `seq` is durable; rejects if a sync begun after the call does not reach it. */
  async durable(seq: number): Promise<void> {
    if (seq <= this.through) return;
    const through = await this.sync();
    if (through < seq)
      throw new ReinsError('audit_unavailable', `record ${seq} is not in the audit log (head ${through})`);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private start(force: boolean): Promise<number> {
    const round: Promise<number> = this.round(force).finally(() => {
      if (this.current === round) this.current = undefined;
    });
    this.current = round;
    return round;
  }

  private async round(force: boolean): Promise<number> {
    let head: number;
    let fd: number;
    try {
      head = this.head();
      // everything committed is durable already (a later durable commit covered it), unless the
      // caller committed what the head does not show (a checkpoint)
      if (!force && head <= this.through) return this.through;
      fd = this.openFile();
    } catch (error) {
      // not a failed fsync (nothing was lost): this round fails, later ones may succeed
      throw new ReinsError(
        'audit_unavailable',
        `cannot sync the audit log \`${this.walPath}\`: ${message(error)}`,
      );
    }
    try {
      await new Promise<void>((resolve, reject) =>
        fdatasync(fd, (error) => (error ? reject(error) : resolve())),
      );
      // SQLite creates the WAL file when the first connection opens the database (and deletes it
      // when the last one closes): its name must be on disk too before its records count as durable
      if (this.directoryPending) {
        await this.syncDirectory(dirname(this.walPath));
        this.directoryPending = false;
      }
    } catch (error) {
      // the directory could not even be opened (too many open files): nothing was flushed or
      // dropped, this round fails and a later one tries again
      if (error instanceof DirectoryNotOpened)
        throw new ReinsError(
          'audit_unavailable',
          `cannot sync the audit log \`${this.walPath}\`: ${message(error.cause)}`,
        );
      // a failed fsync may have dropped pages: no later sync can vouch for them (fail closed)
      this.failed ??= new ReinsError(
        'audit_unavailable',
        `cannot sync the audit log \`${this.walPath}\`: ${message(error)}`,
      );
      throw this.failed;
    }
    if (head > this.through) this.through = head;
    return this.through;
  }

  /**
   * The WAL file's descriptor. The caller's connection is open, so SQLite keeps the file: a missing
   * one means this is not the file SQLite writes (the path is wrong), and saying "durable" would be a
   * lie — it throws. Opened once, and checked every CHECK_EVERY syncs all the same (reopened if the
   * file was replaced).
   */
  private openFile(): number {
    if (this.fd !== undefined && ++this.sinceCheck < CHECK_EVERY) return this.fd;
    this.sinceCheck = 0;
    const current = statSync(this.walPath, { throwIfNoEntry: false });
    if (current === undefined) throw new Error('its write-ahead log file does not exist');
    if (this.fd === undefined || current.ino !== this.inode) {
      if (this.fd !== undefined) closeSync(this.fd);
      // writable: some systems flush only through a descriptor open for writing
      this.fd = openSync(this.walPath, 'r+');
      this.inode = fstatSync(this.fd).ino;
      this.directoryPending = true;
    }
    return this.fd;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
