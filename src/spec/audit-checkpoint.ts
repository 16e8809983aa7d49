/**
 * @module spec/audit-checkpoint
 * A signed checkpoint of the audit chain (`AuditCheckpointV1`): "record `seq` has hash `hash`", signed
 * with Ed25519. Checkpoints anchor verification: a rewritten chain cannot reproduce the signed hashes,
 * a truncated tail falls short of the last checkpoint, and pruning keeps a checkpoint to start from.
 */
import { z } from 'zod';

export { checkpointMessage, DEFAULT_CHECKPOINT_EVERY } from './checkpoint-message.js';

export const AuditCheckpointV1Schema = z.strictObject({
  v: z.literal(1),
  seq: z.number().int().positive(),
  /** Chain hash of record `seq`. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** ISO 8601 time of signing. */
  time: z.string(),
  /** `ed25519:<first 16 hex chars of sha256(raw public key)>`. */
  keyId: z.string(),
  /** Base64 Ed25519 signature over `checkpointMessage(...)`. */
  signature: z.string(),
});
export type AuditCheckpointV1 = z.infer<typeof AuditCheckpointV1Schema>;
