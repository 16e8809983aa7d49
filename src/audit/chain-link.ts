/**
 * @module audit/chain-link
 * How a record is linked to its predecessor: its chain hash covers its position, the previous hash, its
 * searchable fields and its exact serialised body. What writers need to extend the chain, in a module
 * of its own (audit/chain re-exports it, beside the verification): it reads no record, so it builds no
 * schemas, and the SQLite writer thread loads only this. Pure: no I/O.
 */
import { hash } from 'node:crypto';
import type { ChainedRecord, PreparedEvent } from '../spec/audit-event.js';

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
