/**
 * @module spec/records/restore
 * `restore`: the store was restored from a backup (`reins restore`, docs/decisions/0024). Written as
 * the first record after the backup's tail, it says which backup, who restored it and why, and what
 * was lost: the records between the backup's tail and the last checkpoint published outside the
 * database before the restore (`lost`; absent when nothing published was lost). It carries a signature
 * by the checkpoint key (`attestation`) over all of that, so that someone who can write the database
 * but not read the key cannot forge one to explain away a cut tail; `reins audit verify` accepts a cut
 * tail only when such a record names exactly the published checkpoints it cut off.
 */
import { z } from 'zod';
import { BackupTailSchema } from '../backup.js';
import type { RecordKind } from './record-kind.js';

/** The searchable `effect` of every restore record. */
export const RESTORE_EFFECT = 'restored';

/** The records a restore cut off, as the published checkpoints show them. */
export const LostRangeSchema = z.strictObject({
  /** The first lost record: the backup's tail + 1 (the restore record takes this seq). */
  from: z.number().int().positive(),
  /** The last published checkpoint before the restore: its seq, hash and signing time. */
  to: z.number().int().positive(),
  checkpointHash: z.string().regex(/^[0-9a-f]{64}$/),
  checkpointTime: z.string(),
});
export type LostRange = z.infer<typeof LostRangeSchema>;

/** Version 1. */
export const RestoreEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('restore'),
  /** Equal to `id`. */
  decisionId: z.string().min(1),
  /** Who restored (`cli:<os user>`). */
  actor: z.strictObject({ id: z.string().min(1), roles: z.array(z.string()).default([]) }),
  reason: z.string().min(1),
  /** The backup restored: its manifest's store, time, checksum and tail. */
  backup: z.strictObject({
    store: z.enum(['sqlite', 'postgres']),
    takenAt: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    tail: BackupTailSchema,
  }),
  /** Absent: no checkpoint published past the backup's tail was found (none lost that anyone can show). */
  lost: LostRangeSchema.optional(),
  /** How many published checkpoints the restore read to find what was lost (0: none were given). */
  publishedRead: z.number().int().nonnegative(),
  /** Ed25519 signature by the checkpoint key over `restoreMessage(...)`. */
  attestation: z.strictObject({ keyId: z.string(), signature: z.string() }),
});
export type RestoreEvent = z.infer<typeof RestoreEventSchema>;

/**
 * The exact bytes the attestation signs: every field but the signature, in a fixed order, with a
 * prefix of its own so that it can never be taken for a checkpoint's message (spec/audit-checkpoint).
 */
export function restoreMessage(event: Omit<RestoreEvent, 'attestation'> & { attestation?: unknown }): string {
  const { backup, lost } = event;
  return [
    'reins-restore/v1',
    event.id,
    event.time,
    event.actor.id,
    event.reason,
    backup.store,
    backup.takenAt,
    backup.sha256,
    backup.tail.seq,
    backup.tail.hash,
    lost ? `${lost.from}..${lost.to} ${lost.checkpointHash} ${lost.checkpointTime}` : 'none',
    event.publishedRead,
  ]
    .map((part) => JSON.stringify(part))
    .join('\n');
}

export const RESTORE: RecordKind<'restore', RestoreEvent> = {
  kind: 'restore',
  current: 1,
  versions: { 1: RestoreEventSchema },
  indexFields: (event) => ({
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: '',
    agentId: '',
    tool: '',
    effect: RESTORE_EFFECT,
  }),
};
