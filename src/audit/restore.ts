/**
 * @module audit/restore
 * What a restore from a backup means for verification (docs/decisions/0024). A restore cuts the log
 * back to the backup's tail, so the checkpoints published outside the database after it name records
 * the log no longer has (`truncated`) or, once the chain continues, other hashes for the same seqs
 * (`checkpoint_mismatch`). A `restore` record, written right after the tail and signed with the
 * checkpoint key, names that cut: the published checkpoints it declares lost are then set aside, and
 * everything else is verified as usual. A restore record accounts for a cut only when
 *   - its attestation verifies under a trusted key (a database writer without the key cannot forge one),
 *   - it sits right after the backup's tail it names,
 *   - the last checkpoint it declares lost is one the published checkpoints hold, signed before it,
 *   - and every published checkpoint signed before it, at or after its seq, lies in its declared range
 *     (a restore that hides more than it declares fails),
 * and the checkpoint `reins restore` signed over the record itself is among the published ones (a trial
 * restore with `--no-publish` never excuses a cut against published checkpoints). Pure: the caller reads the log and the files.
 */
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { type LostRange, type RestoreEvent, restoreMessage } from '../spec/audit-event.js';
import { type BackupManifestV1, type BackupTail, backupManifestMessage } from '../spec/backup.js';
import { GENESIS_HASH } from './chain.js';
import {
  type CheckpointKeys,
  type CheckpointSigner,
  checkpointKeyList,
  verifyStatement,
} from './checkpoint.js';

/** A restore record as the log holds it: its seq, the hash it follows, its event. */
export interface RestoreInLog {
  readonly seq: number;
  readonly prevHash: string;
  /** The restore record's own hash (the checkpoint `reins restore` signs over it has it). */
  readonly hash: string;
  readonly event: RestoreEvent;
}

export interface RestoreFinding {
  readonly seq: number;
  readonly message: string;
}

export interface RestoreReconciliation {
  /** Published checkpoints of records that accepted restores declare lost: not checked against the log. */
  readonly superseded: ReadonlySet<AuditCheckpointV1>;
  /** Restore records that account for their cut. */
  readonly accepted: readonly RestoreInLog[];
  /** Why a restore record does not: each one fails verification. */
  readonly problems: readonly RestoreFinding[];
}

/**
 * What a restore to `tail` loses, as the published checkpoints show it: from the record after the tail
 * to the highest published seq past it (the newest signature when two branches reach it). Undefined
 * when nothing past the tail was published.
 */
export function lostRange(published: readonly AuditCheckpointV1[], tail: BackupTail): LostRange | undefined {
  let last: AuditCheckpointV1 | undefined;
  for (const checkpoint of published) {
    if (checkpoint.seq <= tail.seq) continue;
    if (
      last === undefined ||
      checkpoint.seq > last.seq ||
      (checkpoint.seq === last.seq && Date.parse(checkpoint.time) > Date.parse(last.time))
    )
      last = checkpoint;
  }
  if (last === undefined) return undefined;
  return { from: tail.seq + 1, to: last.seq, checkpointHash: last.hash, checkpointTime: last.time };
}

/** The event's attestation: the checkpoint key's signature over everything else in it. */
export function attestRestore(
  signer: CheckpointSigner,
  event: Omit<RestoreEvent, 'attestation'>,
): RestoreEvent['attestation'] {
  return signer.signStatement(restoreMessage(event));
}

/** A backup manifest's attestation: the checkpoint key's signature over all its other fields. */
export function attestBackup(
  signer: CheckpointSigner,
  manifest: Omit<BackupManifestV1, 'attestation'>,
): BackupManifestV1['attestation'] {
  return signer.signStatement(backupManifestMessage(manifest));
}

/** Was the manifest signed by a trusted checkpoint key, as `reins backup` signs it? */
export function backupManifestVerifies(manifest: BackupManifestV1, keys: CheckpointKeys): boolean {
  return verifyStatement(backupManifestMessage(manifest), manifest.attestation, keys);
}

/** Sorts the restore records of a log into those that account for their cut and those that do not. */
export function reconcileRestores(
  restores: readonly RestoreInLog[],
  published: readonly AuditCheckpointV1[],
  keys: CheckpointKeys | undefined,
): RestoreReconciliation {
  const superseded = new Set<AuditCheckpointV1>();
  const accepted: RestoreInLog[] = [];
  const problems: RestoreFinding[] = [];
  for (const restore of restores) {
    const problem = restoreProblem(restore, published, keys);
    if (problem !== undefined) {
      problems.push({ seq: restore.seq, message: problem });
      continue;
    }
    accepted.push(restore);
    for (const checkpoint of published) if (declaredLost(checkpoint, restore)) superseded.add(checkpoint);
  }
  // a checkpoint published before a restore, at or after its seq, that no accepted restore declared
  for (const checkpoint of published) {
    if (superseded.has(checkpoint)) continue;
    const cutBy = accepted.find(
      (restore) => checkpoint.seq >= restore.seq && signedBefore(checkpoint, restore.event.time),
    );
    if (cutBy !== undefined)
      problems.push({
        seq: cutBy.seq,
        message: `published checkpoint at record ${checkpoint.seq} was signed before the restore at record ${cutBy.seq} but lies outside the range it declares lost (${describeLost(cutBy.event.lost)}): the restore hides more than it declares`,
      });
  }
  return { superseded, accepted, problems };
}

/**
 * After the chain verified against the published checkpoints left (the superseded ones set aside):
 * each accepted restore must be covered by the checkpoint `reins restore` signed over its own record
 * (same seq, same hash, signed at or after it), published. Any later checkpoint would not do: a trial
 * restore (`--no-publish`) signs a genuine restore record too, and whoever moves that record into
 * production gets the gateway's next checkpoints over it for free; only the restore's own checkpoint
 * shows that the restore was published as the deployment's.
 */
export function uncoveredRestores(
  reconciliation: RestoreReconciliation,
  published: readonly AuditCheckpointV1[],
): RestoreFinding[] {
  if (published.length === 0) return [];
  const kept = published.filter((checkpoint) => !reconciliation.superseded.has(checkpoint));
  return reconciliation.accepted
    .filter((restore) => !kept.some((checkpoint) => coversOwnRecord(checkpoint, restore)))
    .map((restore) => ({
      seq: restore.seq,
      message: `the restore record at record ${restore.seq} is covered by no published checkpoint of its own (the one \`reins restore\` signed over it): a restore done with --no-publish (a trial) accounts for no cut; publish that checkpoint (\`reins audit checkpoint\` prints it while the restore record is the head) if this restore is the deployment's`,
    }));
}

function coversOwnRecord(checkpoint: AuditCheckpointV1, restore: RestoreInLog): boolean {
  return (
    checkpoint.seq === restore.seq &&
    checkpoint.hash === restore.hash &&
    Date.parse(checkpoint.time) >= Date.parse(restore.event.time)
  );
}

export function describeLost(lost: LostRange | undefined): string {
  return lost === undefined ? 'none' : `records ${lost.from}..${lost.to}`;
}

function restoreProblem(
  { seq, prevHash, event }: RestoreInLog,
  published: readonly AuditCheckpointV1[],
  keys: CheckpointKeys | undefined,
): string | undefined {
  const at = `the restore record at record ${seq}`;
  if (checkpointKeyList(keys).length === 0)
    return `${at} cannot be checked: no trusted public key (pass --public-key)`;
  if (!verifyStatement(restoreMessage(event), event.attestation, keys as CheckpointKeys))
    return `${at} is not signed by a trusted key (key ${event.attestation.keyId}): it was not written by \`reins restore\``;
  const { tail } = event.backup;
  const expectedPrev = tail.seq === 0 ? GENESIS_HASH : tail.hash;
  if (seq !== tail.seq + 1 || prevHash !== expectedPrev)
    return `${at} does not follow the backup's tail it names (record ${tail.seq})`;
  const { lost } = event;
  if (lost === undefined) return undefined;
  if (lost.from !== seq) return `${at} declares records ${lost.from}..${lost.to} lost, not from its own seq`;
  // without published checkpoints there is nothing to hold the declaration against (and nothing to set aside)
  if (published.length === 0) return undefined;
  const named = published.some(
    (checkpoint) =>
      checkpoint.seq === lost.to &&
      checkpoint.hash === lost.checkpointHash &&
      signedBefore(checkpoint, event.time),
  );
  if (!named)
    return `${at} declares records ${lost.from}..${lost.to} lost, but no published checkpoint signed before it has record ${lost.to} with hash ${lost.checkpointHash.slice(0, 16)}`;
  return undefined;
}

/** Published before the restore, in the range it declares lost. */
function declaredLost(checkpoint: AuditCheckpointV1, { event }: RestoreInLog): boolean {
  const { lost } = event;
  return (
    lost !== undefined &&
    checkpoint.seq >= lost.from &&
    checkpoint.seq <= lost.to &&
    signedBefore(checkpoint, event.time)
  );
}

function signedBefore(checkpoint: AuditCheckpointV1, time: string): boolean {
  return Date.parse(checkpoint.time) < Date.parse(time);
}
