/**
 * @module audit/chain
 * The hash chain of the audit log. Each record's hash covers its position, its predecessor's hash,
 * its searchable fields and its exact serialised body, so editing, deleting, inserting or reordering
 * records breaks the chain. Signed checkpoints (see checkpoint.ts) catch a chain that was rewritten
 * from some point on, and a tail cut off after the last checkpoint. Writers sign one at least every
 * `checkpointEvery` records, so a verifier told that cadence (by its own configuration, never by the
 * database) also catches checkpoints that were deleted to hide a rewrite (decision 0012).
 * Pure: no I/O. Stores call `linkRecord` when appending and `verifyChain` when asked to verify.
 */
import type { KeyObject } from 'node:crypto';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { type ChainedRecord, readAuditRecord } from '../spec/audit-event.js';
import { chainHash, GENESIS_HASH } from './chain-link.js';
import { type CheckpointKeys, checkpointKeyList, keyIdOf, verifyCheckpoint } from './checkpoint.js';

export { chainHash, GENESIS_HASH, linkRecord } from './chain-link.js';

export type ChainProblem =
  /** The record's content no longer matches its hash: it was edited. */
  | 'hash_mismatch'
  /** The record does not follow its predecessor: one was deleted, inserted or moved. */
  | 'broken_link'
  /** Sequence numbers are not consecutive: a record is missing or duplicated. */
  | 'sequence_gap'
  /** The body is not a valid audit event. */
  | 'invalid_body'
  /** A signed checkpoint names another hash for this record: the chain was rewritten. */
  | 'checkpoint_mismatch'
  /** A checkpoint's signature does not verify under the given public key. */
  | 'bad_checkpoint'
  /** The log ends before the last signed checkpoint: records were cut off the tail. */
  | 'truncated'
  /** A store's query index (what the API and console search) disagrees with the chained record. */
  | 'index_mismatch'
  /**
   * `checkpointEvery` records went by without a checkpoint although writers sign one at that cadence:
   * checkpoints were deleted (typically to hide a rewritten chain).
   */
  | 'missing_checkpoint';

export interface VerifyReport {
  readonly ok: boolean;
  /** Records examined (up to and including the first bad one). */
  readonly checked: number;
  readonly lastSeq: number;
  readonly lastHash: string;
  /** Checkpoints whose signature and hash were verified. */
  readonly checkpointsVerified: number;
  /** False when no public key was given: checkpoint hashes were compared but signatures not checked. */
  readonly signaturesChecked: boolean;
  /** Where verification started: after a pruned prefix, at its anchoring checkpoint. */
  readonly anchoredAt?: number;
  readonly firstBad?: { readonly seq: number; readonly problem: ChainProblem; readonly message: string };
}

export interface VerifyOptions {
  /** Read each body by its kind and version (spec/records; slower, stricter): unknown kinds fail. */
  readonly validateBodies?: boolean;
  /** Signed checkpoints to check the chain against, in any order. */
  readonly checkpoints?: readonly AuditCheckpointV1[];
  /**
   * The trusted public key, or several (key rotation): each checkpoint must be signed by the one its
   * keyId names. Without any, only checkpoint hashes are compared and the report says so.
   */
  readonly publicKey?: CheckpointKeys;
  /**
   * The cadence writers sign at: no run of this many records may go without a checkpoint. Comes from
   * the verifier's configuration: a database could claim any cadence. Omitted: not checked.
   */
  readonly checkpointEvery?: number;
  /** The records before this checkpoint were pruned: the chain continues from it. */
  readonly anchor?: AuditCheckpointV1;
}

/** Walks the records in sequence order and reports the first one that breaks the chain. */
export async function verifyChain(
  records: Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { anchor, checkpointEvery } = options;
  const trusted = trustedKeys(options.publicKey);
  const signaturesChecked = trusted.size > 0;
  if (checkpointEvery !== undefined && !(Number.isInteger(checkpointEvery) && checkpointEvery >= 1))
    throw new RangeError(`checkpointEvery must be a positive integer, got \`${checkpointEvery}\``);
  const checkpoints = new Map<number, AuditCheckpointV1>();
  let checkpointsVerified = 0;
  let lastCheckpoint: AuditCheckpointV1 | undefined;
  const early = (seq: number, problem: ChainProblem, message: string): VerifyReport => ({
    ok: false,
    checked: 0,
    lastSeq: 0,
    lastHash: GENESIS_HASH,
    checkpointsVerified: 0,
    signaturesChecked,
    firstBad: { seq, problem, message },
  });
  for (const checkpoint of [...(options.checkpoints ?? []), ...(anchor ? [anchor] : [])]) {
    if (signaturesChecked) {
      const key = trusted.get(checkpoint.keyId);
      if (key === undefined || !verifyCheckpoint(checkpoint, key)) {
        const why = key === undefined ? 'is signed by a key that is not trusted' : 'has an invalid signature';
        return early(
          checkpoint.seq,
          'bad_checkpoint',
          `checkpoint at record ${checkpoint.seq} ${why} (key ${checkpoint.keyId})`,
        );
      }
    }
    // two checkpoints (say the database's and a published copy) that disagree: one chain was rewritten
    const other = checkpoints.get(checkpoint.seq);
    if (other !== undefined && other.hash !== checkpoint.hash)
      return early(
        checkpoint.seq,
        'checkpoint_mismatch',
        `two signed checkpoints name different hashes for record ${checkpoint.seq}: the chain was rewritten`,
      );
    checkpoints.set(checkpoint.seq, checkpoint);
    if (lastCheckpoint === undefined || checkpoint.seq > lastCheckpoint.seq) lastCheckpoint = checkpoint;
  }

  let expectedSeq = anchor ? anchor.seq + 1 : 1;
  let previousHash = anchor ? anchor.hash : GENESIS_HASH;
  let checked = 0;
  /** The newest checkpointed record so far: the cadence counts from it. */
  let lastSigned = anchor ? anchor.seq : 0;
  if (anchor) checkpointsVerified++;
  const fail = (seq: number, problem: ChainProblem, message: string): VerifyReport => {
    const report: VerifyReport = {
      ok: false,
      checked,
      lastSeq: expectedSeq - 1,
      lastHash: previousHash,
      checkpointsVerified,
      signaturesChecked,
      firstBad: { seq, problem, message },
    };
    return anchor ? { ...report, anchoredAt: anchor.seq } : report;
  };
  /** Checks one record; returns the failure report, or undefined when it is good. */
  const check = (record: ChainedRecord): VerifyReport | undefined => {
    checked++;
    if (record.seq !== expectedSeq) {
      return fail(record.seq, 'sequence_gap', `expected record ${expectedSeq}, found record ${record.seq}`);
    }
    if (record.prevHash !== previousHash) {
      return fail(record.seq, 'broken_link', `record ${record.seq} does not follow record ${record.seq - 1}`);
    }
    if (chainHash(record.prevHash, record.seq, record) !== record.hash) {
      return fail(
        record.seq,
        'hash_mismatch',
        `record ${record.seq} was altered: its content does not match its hash`,
      );
    }
    if (options.validateBodies) {
      // a kind or version this code does not know is reported as such (spec/records/read-record)
      const reading = readAuditRecord(record.body);
      if (!reading.ok)
        return fail(
          record.seq,
          'invalid_body',
          `record ${record.seq} is not a valid audit event: ${reading.message}`,
        );
    }
    const checkpoint = checkpoints.get(record.seq);
    if (checkpoint) {
      if (checkpoint.hash !== record.hash) {
        return fail(
          record.seq,
          'checkpoint_mismatch',
          `record ${record.seq} differs from its signed checkpoint: the chain was rewritten`,
        );
      }
      checkpointsVerified++;
      lastSigned = record.seq;
    } else if (checkpointEvery !== undefined && record.seq - lastSigned >= checkpointEvery) {
      return fail(
        record.seq,
        'missing_checkpoint',
        `no signed checkpoint for ${record.seq - lastSigned} records up to record ${record.seq} (one is signed at least every ${checkpointEvery}): checkpoints were deleted`,
      );
    }
    expectedSeq++;
    previousHash = record.hash;
    return undefined;
  };
  // a plain loop for synchronous sources: `for await` would cost a microtask per record
  if (Symbol.iterator in records) {
    for (const record of records) {
      const failure = check(record);
      if (failure) return failure;
    }
  } else {
    for await (const record of records) {
      const failure = check(record);
      if (failure) return failure;
    }
  }
  const lastSeq = expectedSeq - 1;
  if (lastCheckpoint && lastCheckpoint.seq > lastSeq) {
    return fail(
      lastSeq + 1,
      'truncated',
      `the log ends at record ${lastSeq} but record ${lastCheckpoint.seq} was signed: records were removed from the tail`,
    );
  }
  const report: VerifyReport = {
    ok: true,
    checked,
    lastSeq,
    lastHash: previousHash,
    checkpointsVerified,
    signaturesChecked,
  };
  return anchor ? { ...report, anchoredAt: anchor.seq } : report;
}

/** The trusted keys by keyId. */
function trustedKeys(keys: CheckpointKeys | undefined): Map<string, KeyObject> {
  return new Map(checkpointKeyList(keys).map((key) => [keyIdOf(key), key]));
}
