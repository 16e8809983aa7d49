/**
 * @module audit/chain
 * The hash chain of the audit log: each record's hash covers its position, its predecessor's hash
 * and its exact serialised body, so editing, deleting, inserting or reordering records breaks the chain.
 * Pure: no I/O. Stores call `linkRecord` when appending and `verifyChain` when asked to verify.
 */
import { createHash } from 'node:crypto';
import { AuditEventV1Schema, type ChainedRecord } from '../spec/audit-event.js';

/** The "previous hash" of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

export function chainHash(prevHash: string, seq: number, body: string): string {
  return createHash('sha256').update(`${prevHash}\n${seq}\n`).update(body).digest('hex');
}

/** Builds the record that follows `head` (or starts the chain when `head` is undefined). */
export function linkRecord(head: { seq: number; hash: string } | undefined, body: string): ChainedRecord {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS_HASH;
  return { seq, prevHash, hash: chainHash(prevHash, seq, body), body };
}

export type ChainProblem =
  /** The record's content no longer matches its hash: it was edited. */
  | 'hash_mismatch'
  /** The record does not follow its predecessor: one was deleted, inserted or moved. */
  | 'broken_link'
  /** Sequence numbers are not consecutive: a record is missing or duplicated. */
  | 'sequence_gap'
  /** The body is not a valid audit event. */
  | 'invalid_body'
  /** A store's searchable copy of a field differs from the hashed body (reported by the store's check). */
  | 'index_mismatch';

export interface VerifyReport {
  readonly ok: boolean;
  /** Records examined (up to and including the first bad one). */
  readonly checked: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  readonly firstBad?: { readonly seq: number; readonly problem: ChainProblem; readonly message: string };
}

/**
 * Walks the records in sequence order and reports the first one that breaks the chain.
 * `validateBodies` also parses each body against the AuditEventV1 schema (slower, stricter).
 */
export async function verifyChain(
  records: Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>,
  options: {
    validateBodies?: boolean;
    /** Store-specific check of a record whose hash is good; returns a message when it is not. */
    checkRecord?: (record: ChainedRecord) => string | undefined;
  } = {},
): Promise<VerifyReport> {
  let expectedSeq = 1;
  let previousHash = GENESIS_HASH;
  let checked = 0;
  for await (const record of records) {
    checked++;
    const fail = (problem: ChainProblem, message: string): VerifyReport => ({
      ok: false,
      checked,
      lastSeq: expectedSeq - 1,
      lastHash: previousHash,
      firstBad: { seq: record.seq, problem, message },
    });
    if (record.seq !== expectedSeq) {
      return fail('sequence_gap', `expected record ${expectedSeq}, found record ${record.seq}`);
    }
    if (record.prevHash !== previousHash) {
      return fail('broken_link', `record ${record.seq} does not follow record ${record.seq - 1}`);
    }
    if (chainHash(record.prevHash, record.seq, record.body) !== record.hash) {
      return fail('hash_mismatch', `record ${record.seq} was altered: its content does not match its hash`);
    }
    if (options.validateBodies && !isValidEvent(record.body)) {
      return fail('invalid_body', `record ${record.seq} is not a valid audit event`);
    }
    const mismatch = options.checkRecord?.(record);
    if (mismatch !== undefined) return fail('index_mismatch', mismatch);
    expectedSeq++;
    previousHash = record.hash;
  }
  return { ok: true, checked, lastSeq: expectedSeq - 1, lastHash: previousHash };
}

function isValidEvent(body: string): boolean {
  try {
    return AuditEventV1Schema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}
