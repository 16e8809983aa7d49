/**
 * @module store/captured-content
 * What both audit logs share about captured content (the raw state a call is about to change, kept
 * apart from the chain by its sha256): the check of each hash before anything is written, the rows a
 * batch stores (one per hash, with the seq of the newest record it came with), the SQL that is the same
 * in both dialects, and the check of what is read back. Pruning is in store/retention.
 */
import { createHash } from 'node:crypto';
import type { PreparedEvent } from '../spec/audit-event.js';
import { ReinsError } from '../spec/errors.js';
import type { CapturedContent } from './audit-log.js';
import type { Placeholder } from './sql-builder.js';

/** An event on its way into a batch, with the contents to commit in the same transaction. */
export interface AppendItem extends PreparedEvent {
  readonly captured?: readonly CapturedContent[];
  /** May be answered before it is durable (AppendOptions.syncLater). */
  readonly syncLater?: boolean;
}

/** A content of a batch, with the position (in the batch) of the event it was appended with. */
export interface CapturedInBatch {
  readonly event: number;
  readonly hash: string;
  readonly bytes: Uint8Array;
}

/** A row of the captures table: `lastSeq` is the newest record the content came with. */
export interface CaptureRow {
  readonly hash: string;
  readonly bytes: Uint8Array;
  readonly lastSeq: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A caller's value in an error message, shortened (it may be anything). */
function shown(hash: string): string {
  return hash.length > 80 ? `${hash.slice(0, 80)}…` : hash;
}

/**
 * The contents of an append, checked and copied: each hash must be the lower-case hex sha256 of its
 * bytes (a caller's bug must not file content under a wrong hash, where a rollback would restore it).
 * The bytes are copied first and hashed as copied, so a caller that reuses its buffer afterwards
 * changes nothing that is written.
 */
export function checkedCaptures(captured: readonly CapturedContent[] | undefined): CapturedContent[] {
  if (captured === undefined || captured.length === 0) return [];
  return captured.map(({ hash, bytes }) => {
    if (!(bytes instanceof Uint8Array))
      throw new ReinsError('invalid_input', 'captured content must be bytes (a Uint8Array)');
    const copy = new Uint8Array(bytes);
    if (typeof hash !== 'string' || !SHA256_HEX.test(hash) || sha256Hex(copy) !== hash) {
      throw new ReinsError(
        'invalid_input',
        `captured content cannot be stored under \`${shown(String(hash))}\`: that is not the sha256 of its ${copy.length} bytes (give the lower-case hex sha256 of the bytes)`,
      );
    }
    return { hash, bytes: copy };
  });
}

/** The event with its checked contents, or the event alone when it has none. */
export function withCaptures(event: PreparedEvent, captured: readonly CapturedContent[]): AppendItem {
  return captured.length === 0 ? event : { ...event, captured };
}

/** Every content of a batch, with the event it came with. */
export function capturesOf(items: readonly AppendItem[]): CapturedInBatch[] {
  const captured: CapturedInBatch[] = [];
  for (const [event, item] of items.entries())
    for (const { hash, bytes } of item.captured ?? []) captured.push({ event, hash, bytes });
  return captured;
}

/**
 * The rows a batch writes, one per hash (a statement may not update one row twice), each with the seq
 * of the newest record of the batch it came with. The batch's records are `firstSeq`, `firstSeq + 1`, …
 * (with 0, `lastSeq` is the position in the batch, for a writer that encodes before it knows the head).
 */
export function captureRows(captured: readonly CapturedInBatch[], firstSeq: number): CaptureRow[] {
  const rows = new Map<string, CaptureRow>();
  for (const { event, hash, bytes } of captured) {
    const lastSeq = firstSeq + event;
    const known = rows.get(hash);
    if (known === undefined || known.lastSeq < lastSeq) rows.set(hash, { hash, bytes, lastSeq });
  }
  return [...rows.values()];
}

/**
 * How an insert of a content already stored ends (the table aliased `c`): the bytes are the same (same
 * hash), only `last_seq` moves forward to the newer record.
 */
export const CAPTURE_CONFLICT_SQL =
  'on conflict (hash) do update set last_seq = excluded.last_seq where excluded.last_seq > c.last_seq';

/** Reads one content (parameter: its hash). */
export function capturedReadSql(capturesTable: string, placeholder: Placeholder): string {
  return `select content from ${capturesTable} where hash = ${placeholder(1)}`;
}

/** A hash no content can be stored under: nothing to look up. */
export function notAHash(hash: string): boolean {
  return typeof hash !== 'string' || !SHA256_HEX.test(hash);
}

/**
 * Content read back, checked against its hash and copied out of the driver's buffer: bytes altered in
 * the store are refused, never handed to a rollback to write back.
 */
export function checkedRead(hash: string, stored: Uint8Array | undefined | null): Uint8Array | undefined {
  if (stored === undefined || stored === null) return undefined;
  const bytes = new Uint8Array(stored);
  if (sha256Hex(bytes) !== hash) {
    throw new ReinsError(
      'audit_unavailable',
      `captured content \`${hash}\` does not match its hash: the store was altered; restore it from a backup before rolling back`,
    );
  }
  return bytes;
}
