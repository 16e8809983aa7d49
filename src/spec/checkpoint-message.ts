/**
 * @module spec/checkpoint-message
 * The exact bytes a checkpoint's signature covers, and the cadence writers sign at by default: what
 * signing a checkpoint needs, without the checkpoint's schema (spec/audit-checkpoint re-exports both),
 * so that the SQLite writer thread, which signs, builds no schemas when it starts.
 */

/** Writers sign a checkpoint on every this many records by default; `reins audit verify` expects it. */
export const DEFAULT_CHECKPOINT_EVERY = 1_000;

/** The exact bytes that are signed; versioned so that a signature cannot be replayed in another format. */
export function checkpointMessage(checkpoint: {
  readonly seq: number;
  readonly hash: string;
  readonly time: string;
  readonly keyId: string;
}): string {
  return `reins-audit-checkpoint/v1\n${checkpoint.seq}\n${checkpoint.hash}\n${checkpoint.time}\n${checkpoint.keyId}`;
}
