/**
 * @module store/audit-log
 * The audit log interface every store backend implements. Appends are durable when their promise
 * resolves and fail loudly (reject) when they are not; the harness denies a call whose intent cannot
 * be recorded.
 */
import type { VerifyReport } from '../audit/chain.js';
import type { AuditEventV1, ChainedRecord } from '../spec/audit-event.js';

export interface AppendReceipt {
  readonly seq: number;
  readonly hash: string;
}

export interface AuditLog {
  /** Appends one event; resolves once it is durable (group-committed with concurrent appends). */
  append(event: AuditEventV1): Promise<AppendReceipt>;
  /** Records in sequence order, starting after `afterSeq` (default: from the first). */
  records(options?: { afterSeq?: number }): AsyncIterable<ChainedRecord>;
  /** Walks the whole chain and reports the first record that breaks it. */
  verify(): Promise<VerifyReport>;
  /** Flushes pending appends and releases the store. */
  close(): Promise<void>;
}
