/**
 * @module spec/backup
 * The manifest `reins backup` writes beside a backup (`manifest.json`): which store it is of, when it
 * was taken, the file that holds it (with its sha256, checked before a restore uses it) and the tail of
 * the audit log in it, the point a restore continues the chain from (docs/decisions/0024). The
 * manifest is signed with the deployment's checkpoint key (`attestation`, over `backupManifestMessage`):
 * a restore refuses a backup whose manifest does not verify under a trusted key before it reads the
 * data, so whoever can write to the backup storage but holds no key cannot have a restore use their file.
 */
import { z } from 'zod';

export const BACKUP_MANIFEST_FILE = 'manifest.json';

/** The last record of the log in the backup; seq 0 with the genesis hash: an empty log. */
export const BackupTailSchema = z.strictObject({
  seq: z.number().int().nonnegative(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BackupTail = z.infer<typeof BackupTailSchema>;

export const BackupManifestV1Schema = z.strictObject({
  v: z.literal(1),
  /** `sqlite`: a copy of the store file (online backup API); `postgres`: a `pg_dump -Fc` archive. */
  store: z.enum(['sqlite', 'postgres']),
  /** ISO 8601: when the snapshot was taken. */
  takenAt: z.string(),
  /** The data file, in the backup's directory. */
  file: z.string().regex(/^[A-Za-z0-9._-]+$/),
  /** sha256 of the data file, lower-case hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  tail: BackupTailSchema,
  /** The checkpoint key's signature over `backupManifestMessage` of everything above. */
  attestation: z.strictObject({
    keyId: z.string().min(1),
    signature: z.string().min(1),
  }),
});
export type BackupManifestV1 = z.infer<typeof BackupManifestV1Schema>;

/**
 * What the checkpoint key signs for a backup: every field but the attestation, one JSON value a line,
 * after a first line of its own (`reins-backup/v1`), so that a manifest signature can never pass for a
 * checkpoint's (`reins-audit-checkpoint/v1`) or a restore record's (`reins-restore/v1`), nor they for it.
 */
export function backupManifestMessage(
  manifest: Omit<BackupManifestV1, 'attestation'> & { attestation?: unknown },
): string {
  return [
    'reins-backup/v1',
    manifest.store,
    manifest.takenAt,
    manifest.file,
    manifest.sha256,
    manifest.bytes,
    manifest.tail.seq,
    manifest.tail.hash,
  ]
    .map((part) => JSON.stringify(part))
    .join('\n');
}
