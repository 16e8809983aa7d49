/**
 * @module spec/backup
 * The manifest `reins backup` writes beside a backup (`manifest.json`): which store it is of, when it
 * was taken, the file that holds it (with its sha256, checked before a restore uses it) and the tail of
 * the audit log in it, the point a restore continues the chain from (docs/decisions/0024).
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
});
export type BackupManifestV1 = z.infer<typeof BackupManifestV1Schema>;
