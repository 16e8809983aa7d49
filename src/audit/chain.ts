/**
 * @module audit/chain
 * The hash chain of the audit log. Each record's hash covers its position, its predecessor's hash,
 * its searchable fields and its exact serialised body, so editing, deleting, inserting or reordering
 * records breaks the chain. Signed checkpoints (see checkpoint.ts) catch a chain that was rewritten
 * from some point on, and a tail cut off after the last checkpoint.
 * Pure: no I/O. Stores call `linkRecord` when appending and `verifyChain` when asked to verify.
 */
import { hash, type KeyObject } from 'node:crypto';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { AuditEventV1Schema, type ChainedRecord, type PreparedEvent } from '../spec/audit-event.js';
import { verifyCheckpoint } from './checkpoint.js';

/** The "previous hash" of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

const SEPARATOR = '\n';

export function chainHash(prevHash: string, seq: number, event: PreparedEvent): string {
  // one-shot hash(): measurably cheaper than createHash().update().digest() for records this size
  return hash(
    'sha256',
    `${prevHash}${SEPARATOR}${seq}${SEPARATOR}${event.time}${SEPARATOR}${event.kind}${SEPARATOR}${event.decisionId}${SEPARATOR}${event.sessionId}${SEPARATOR}${event.agentId}${SEPARATOR}${event.tool}${SEPARATOR}${event.effect}${SEPARATOR}${event.body}`,
  );
}

/** Builds the record that follows `head` (or starts the chain when `head` is undefined). */
export function linkRecord(
  head: { seq: number; hash: string } | undefined,
  event: PreparedEvent,
): ChainedRecord {
  const seq = (head?.seq ?? 0) + 1;
  const prevHash = head?.hash ?? GENESIS_HASH;
  return {
    seq,
    prevHash,
    hash: chainHash(prevHash, seq, event),
    body: event.body,
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.agentId,
    tool: event.tool,
    effect: event.effect,
  };
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
  /** A signed checkpoint names another hash for this record: the chain was rewritten. */
  | 'checkpoint_mismatch'
  /** A checkpoint's signature does not verify under the given public key. */
  | 'bad_checkpoint'
  /** The log ends before the last signed checkpoint: records were cut off the tail. */
  | 'truncated'
  /** A store's query index (what the API and console search) disagrees with the chained record. */
  | 'index_mismatch';

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
  /** Parse each body against the AuditEventV1 schema (slower, stricter). */
  readonly validateBodies?: boolean;
  /** Signed checkpoints to check the chain against, in any order. */
  readonly checkpoints?: readonly AuditCheckpointV1[];
  /** Verifies checkpoint signatures; without it only their hashes are compared. */
  readonly publicKey?: KeyObject;
  /** The records before this checkpoint were pruned: the chain continues from it. */
  readonly anchor?: AuditCheckpointV1;
}

/** Walks the records in sequence order and reports the first one that breaks the chain. */
export async function verifyChain(
  records: Iterable<ChainedRecord> | AsyncIterable<ChainedRecord>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const { anchor, publicKey } = options;
  const checkpoints = new Map<number, AuditCheckpointV1>();
  let checkpointsVerified = 0;
  let lastCheckpoint: AuditCheckpointV1 | undefined;
  const base = { checked: 0, signaturesChecked: publicKey !== undefined, checkpointsVerified: 0 };
  for (const checkpoint of [...(options.checkpoints ?? []), ...(anchor ? [anchor] : [])]) {
    if (publicKey && !verifyCheckpoint(checkpoint, publicKey)) {
      const message = `checkpoint at record ${checkpoint.seq} has an invalid signature (key ${checkpoint.keyId})`;
      return {
        ...base,
        ok: false,
        lastSeq: 0,
        lastHash: GENESIS_HASH,
        firstBad: { seq: checkpoint.seq, problem: 'bad_checkpoint', message },
      };
    }
    checkpoints.set(checkpoint.seq, checkpoint);
    if (lastCheckpoint === undefined || checkpoint.seq > lastCheckpoint.seq) lastCheckpoint = checkpoint;
  }

  let expectedSeq = anchor ? anchor.seq + 1 : 1;
  let previousHash = anchor ? anchor.hash : GENESIS_HASH;
  let checked = 0;
  if (anchor) checkpointsVerified++;
  const fail = (seq: number, problem: ChainProblem, message: string): VerifyReport => {
    const report: VerifyReport = {
      ok: false,
      checked,
      lastSeq: expectedSeq - 1,
      lastHash: previousHash,
      checkpointsVerified,
      signaturesChecked: publicKey !== undefined,
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
    if (options.validateBodies && !isValidEvent(record.body)) {
      return fail(record.seq, 'invalid_body', `record ${record.seq} is not a valid audit event`);
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
    signaturesChecked: publicKey !== undefined,
  };
  return anchor ? { ...report, anchoredAt: anchor.seq } : report;
}

function isValidEvent(body: string): boolean {
  try {
    return AuditEventV1Schema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}
