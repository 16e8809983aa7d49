/**
 * @module cli/backup-commands
 * `reins backup` and `reins restore` (docs/decisions/0024, docs/deployment.md "Backup and restore").
 * A backup is a private directory: the store's data (SQLite: an online backup of the file; PostgreSQL:
 * `pg_dump -Fc`) and `manifest.json` with its checksum and the log's tail, signed with the checkpoint
 * key. A restore, with the gateway stopped, refuses a backup whose manifest does not verify under a
 * trusted key or whose data does not match it (before pg_restore runs or the file is opened), checks
 * the backup against the published checkpoints, puts it in place, and appends a
 * `restore` record signed with the checkpoint key that names the backup, who, why and what was lost
 * (the records past the tail that published checkpoints show); the checkpoint over it is published at
 * once, so that `reins audit verify --checkpoints` reports the cut as a restore and not as tampering.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CheckpointSigner } from '../audit/checkpoint.js';
import {
  attestBackup,
  attestRestore,
  backupManifestVerifies,
  describeLost,
  lostRange,
} from '../audit/restore.js';
import { readCheckpoints } from '../export/checkpoint-file.js';
import { type CheckpointPublishConfig, checkpointTargets } from '../export/checkpoint-publisher.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { DEFAULT_CHECKPOINT_EVERY } from '../spec/audit-checkpoint.js';
import type { RestoreEvent } from '../spec/audit-event.js';
import { BACKUP_MANIFEST_FILE, type BackupManifestV1, BackupManifestV1Schema } from '../spec/backup.js';
import { describeError, ReinsError } from '../spec/errors.js';
import type { AuditLog } from '../store/audit-log.js';
import {
  backupPostgresStore,
  postgresStoreConnections,
  restorePostgresStore,
} from '../store/postgres/postgres-backup.js';
import { ensurePrivateDirectory, PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE } from '../store/private-files.js';
import {
  backupSqliteStore,
  foreignSqliteObjects,
  replaceSqliteStore,
  sqliteStoreInUse,
} from '../store/sqlite/sqlite-backup.js';
import {
  checkpointSigningKey,
  databaseUrlOf,
  describeStore,
  existingCheckpointSigningKey,
  openWritableAuditLog,
  type StoreOptions,
  verificationKeys,
} from './audit-store.js';
import { type CliIo, DEFAULT_AUDIT_PATH, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';
import { verifyAccountingForRestores } from './restore-verification.js';

export interface BackupOptions extends StoreOptions {
  readonly out: string;
}

/** `reins backup --out <dir>`: a consistent snapshot of the whole store, taken while the gateway runs. */
export async function takeBackup(options: BackupOptions, io: CliIo): Promise<number> {
  const out = resolve(options.out);
  const url = databaseUrlOf(options);
  const store = url ? 'postgres' : 'sqlite';
  const file = url ? 'store.dump' : 'store.db';
  let signer: CheckpointSigner;
  try {
    // before anything is written: a backup that cannot be signed could never be restored
    signer = new CheckpointSigner(existingCheckpointSigningKey(options));
  } catch (error) {
    io.err(`reins backup: cannot sign the backup: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  try {
    ensurePrivateDirectory(dirname(out));
    // not recursive: an existing backup is never written into or over
    mkdirSync(out, { mode: PRIVATE_DIRECTORY_MODE });
  } catch (error) {
    io.err(`reins backup: cannot create \`${out}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  try {
    const takenAt = new Date().toISOString();
    const data = join(out, file);
    const tail = url
      ? await backupPostgresStore(url, data)
      : await backupSqliteStore(options.db ?? DEFAULT_AUDIT_PATH, data);
    const unsigned: Omit<BackupManifestV1, 'attestation'> = {
      v: 1,
      store,
      takenAt,
      file,
      sha256: await sha256Of(data),
      bytes: statSync(data).size,
      tail,
    };
    const manifest: BackupManifestV1 = { ...unsigned, attestation: attestBackup(signer, unsigned) };
    writeFileSync(join(out, BACKUP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, {
      flag: 'wx',
      mode: PRIVATE_FILE_MODE,
    });
    io.out(
      `backup: ${out}: ${store} store ${describeStore(options)}, records up to ${tail.seq} (${tail.hash.slice(0, 16)}), ${manifest.bytes} bytes, signed with checkpoint key ${signer.keyId}`,
    );
    io.err(
      'note: the backup holds everything the store does, captured state (which may hold secrets) included: keep it private and encrypted, and never beside the keys',
    );
    return EXIT_OK;
  } catch (error) {
    rmSync(out, { recursive: true, force: true });
    io.err(`reins backup: ${describeError(error)}`);
    return EXIT_ERROR;
  }
}

export interface RestoreOptions extends StoreOptions {
  readonly reason: string;
  readonly checkpoints?: string[];
  readonly publicKey?: string[];
  /** `--no-publish`: false. */
  readonly publish?: boolean;
  /** From the deployment's reins.yaml (cli/deployment). */
  readonly checkpointPublication?: CheckpointPublishConfig;
}

/** `reins restore <backup>`: the gateway must be stopped (every replica, for PostgreSQL). */
export async function restoreBackup(backup: string, options: RestoreOptions, io: CliIo): Promise<number> {
  const say = (line: string) => io.err(`reins restore: ${line}`);
  if (options.reason.trim() === '') {
    say('--reason must say why');
    return EXIT_ERROR;
  }
  let prepared: PreparedRestore;
  try {
    prepared = await prepareRestore(backup, options);
  } catch (error) {
    say(describeError(error));
    return EXIT_ERROR;
  }
  if (prepared.published.length === 0)
    say(
      'warning: no published checkpoints (--checkpoints, or the publication directory of reins.yaml): the restore record cannot name what was lost',
    );
  let done: Restored;
  try {
    done = await applyRestore(prepared, options, say);
  } catch (error) {
    say(describeError(error));
    return error instanceof ReinsError && error.code === 'invalid_input' ? EXIT_FAILED : EXIT_ERROR;
  }
  const { event } = done;
  io.out(
    `restored ${describeStore(options)} from the backup of ${event.backup.takenAt} (records up to ${event.backup.tail.seq}); ${event.lost ? `${describeLost(event.lost)} lost` : 'no published records lost'}; recorded as record ${done.seq}${done.keptAs ? `; the replaced store is kept as ${done.keptAs}` : ''}`,
  );
  return publishRestore(done.checkpoints, options, io);
}

interface PreparedRestore {
  readonly directory: string;
  readonly manifest: BackupManifestV1;
  readonly published: AuditCheckpointV1[];
  readonly keys: ReturnType<typeof verificationKeys>['keys'];
}

/**
 * Reads and checks the backup, the published checkpoints and the trusted keys; changes nothing. The
 * manifest's signature and the data's sha256 are checked first: nothing of a backup that `reins backup`
 * did not write for this deployment is ever handed to pg_restore or opened as a store.
 */
async function prepareRestore(backup: string, options: RestoreOptions): Promise<PreparedRestore> {
  const directory = resolve(backup);
  const manifest = readManifest(directory);
  const store = databaseUrlOf(options) ? 'postgres' : 'sqlite';
  if (manifest.store !== store)
    throw new ReinsError(
      'invalid_input',
      `the backup is of a ${manifest.store} store, this deployment's is ${store}`,
    );
  const { keys } = verificationKeys(options);
  if (keys.length === 0)
    throw new ReinsError(
      'invalid_input',
      'no trusted public key to check the backup and the published checkpoints with (--public-key)',
    );
  if (!backupManifestVerifies(manifest, keys))
    throw new ReinsError(
      'invalid_input',
      `the backup's manifest is not signed by a trusted checkpoint key (key ${manifest.attestation.keyId}): not a backup \`reins backup\` took for this deployment, or altered since; nothing was changed`,
    );
  const data = join(directory, manifest.file);
  if ((await sha256Of(data)) !== manifest.sha256 || statSync(data).size !== manifest.bytes)
    throw new ReinsError(
      'invalid_input',
      `\`${data}\` does not match the sha256 of its signed manifest: damaged or altered; nothing was changed`,
    );
  const directoryConfigured = options.checkpointPublication?.directory;
  const sources =
    options.checkpoints ??
    (directoryConfigured && existsSync(directoryConfigured) ? [directoryConfigured] : []);
  const published = readCheckpoints(sources);
  const now = Date.now();
  const future = published.find((checkpoint) => Date.parse(checkpoint.time) >= now);
  if (future !== undefined)
    throw new ReinsError(
      'invalid_input',
      `the published checkpoint at record ${future.seq} is dated ${future.time}, not before now: check the clock (the restore record must be later than every checkpoint it cuts off)`,
    );
  return { directory, manifest, published, keys };
}

interface Restored {
  readonly seq: number;
  readonly event: RestoreEvent;
  /** Every checkpoint signed while recording the restore (the last covers its record). */
  readonly checkpoints: AuditCheckpointV1[];
  readonly keptAs?: string;
}

/** Puts the backup in place, checks it, records the restore; the old SQLite store is kept aside. */
async function applyRestore(
  prepared: PreparedRestore,
  options: RestoreOptions,
  say: (line: string) => void,
): Promise<Restored> {
  const { manifest, directory } = prepared;
  const data = join(directory, manifest.file);
  const url = databaseUrlOf(options);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const target = resolve(options.db ?? DEFAULT_AUDIT_PATH);
  const ready = `${target}.restoring-${stamp}`;
  await refuseWhileInUse(url, target);
  if (url) await restorePostgresStore(url, data);
  else {
    ensurePrivateDirectory(dirname(target));
    // created 0600 here: copyFileSync would give the store the mode of the backup copy (often 0644)
    await pipeline(
      createReadStream(data),
      createWriteStream(ready, { flags: 'wx', mode: PRIVATE_FILE_MODE }),
    );
    refuseForeignSqliteObjects(ready);
  }
  const signer = new CheckpointSigner(checkpointSigningKey(options, say));
  const checkpoints: AuditCheckpointV1[] = [];
  const where: StoreOptions = url ? options : { ...options, db: ready };
  let log: AuditLog | undefined;
  try {
    log = await openWritableAuditLog(
      where,
      { onCheckpoint: (checkpoint) => checkpoints.push(checkpoint) },
      say,
    );
    await checkBackupAgainstPublished(log, prepared, options, url !== undefined);
    const event = restoreEvent(prepared, options, signer);
    const receipt = await log.append(event);
    await log.checkpoint();
    await log.close();
    log = undefined;
    const keptAs = url ? undefined : replaceSqliteStore(ready, target, stamp);
    return { seq: receipt.seq, event, checkpoints, ...(keptAs ? { keptAs } : {}) };
  } finally {
    await log?.close().catch(() => {});
    if (!url) for (const suffix of ['', '-wal', '-shm']) rmSync(`${ready}${suffix}`, { force: true });
  }
}

/** A restore under a running gateway would be overwritten by it (or, for SQLite, written past). */
async function refuseWhileInUse(url: string | undefined, target: string): Promise<void> {
  if (url) {
    const sessions = await postgresStoreConnections(url);
    if (sessions.length > 0)
      throw new ReinsError(
        'conflict',
        `${sessions.length} other sessions are connected to the database (${sessions.join(', ')}): stop every gateway of the deployment first, and close every other connection to its database`,
      );
  } else if (sqliteStoreInUse(target))
    throw new ReinsError(
      'conflict',
      `the store \`${target}\` is open in another process: stop the gateway first`,
    );
}

/** Defense in depth: Reins creates no triggers or views; a store with one was not written by Reins alone. */
function refuseForeignSqliteObjects(path: string): void {
  const foreign = foreignSqliteObjects(path);
  if (foreign.length > 0)
    throw new ReinsError(
      'invalid_input',
      `the backup's store holds objects Reins does not create (${foreign.join(', ')}): refused, nothing was replaced`,
    );
}

/** The backup's log must verify, end at the manifest's tail, and agree with what was published up to it. */
async function checkBackupAgainstPublished(
  log: AuditLog,
  prepared: PreparedRestore,
  options: RestoreOptions,
  restoredInPlace: boolean,
): Promise<void> {
  const { tail } = prepared.manifest;
  // PostgreSQL restores in place: the database now holds the backup, with no restore record
  const after = restoredInPlace
    ? 'the database now holds the backup without a restore record: restore a backup that verifies'
    : 'nothing was replaced';
  const { report, problems } = await verifyAccountingForRestores(log, {
    keys: prepared.keys,
    published: prepared.published,
    checkpointEvery: options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    upTo: tail.seq,
  });
  if (!report.ok || problems.length > 0) {
    const why = report.firstBad?.message ?? problems.map((problem) => problem.message).join('; ');
    throw new ReinsError(
      'invalid_input',
      `the backup does not verify against the published checkpoints (${why}); ${after}`,
    );
  }
  if (report.lastSeq !== tail.seq || report.lastHash !== tail.hash)
    throw new ReinsError(
      'invalid_input',
      `the backup's log ends at record ${report.lastSeq}, its manifest says ${tail.seq}; ${after}`,
    );
}

function restoreEvent(
  prepared: PreparedRestore,
  options: RestoreOptions,
  signer: CheckpointSigner,
): RestoreEvent {
  const { manifest, published } = prepared;
  const id = randomUUID();
  const lost = lostRange(published, manifest.tail);
  const unsigned: Omit<RestoreEvent, 'attestation'> = {
    v: 1,
    id,
    time: new Date().toISOString(),
    kind: 'restore',
    decisionId: id,
    actor: { id: `cli:${userInfo().username}`, roles: [] },
    reason: options.reason,
    backup: {
      store: manifest.store,
      takenAt: manifest.takenAt,
      sha256: manifest.sha256,
      tail: manifest.tail,
    },
    ...(lost ? { lost } : {}),
    publishedRead: published.length,
  };
  return { ...unsigned, attestation: attestRestore(signer, unsigned) };
}

/** Publishes the checkpoints over the restore record to the deployment's targets, now. */
async function publishRestore(
  checkpoints: readonly AuditCheckpointV1[],
  options: RestoreOptions,
  io: CliIo,
): Promise<number> {
  if (options.publish === false || checkpoints.length === 0) {
    io.err(
      'reins restore: the checkpoint over the restore record was not published (--no-publish): until one is, verify cannot tell this restore from a cut tail',
    );
    return EXIT_OK;
  }
  let targets: ReturnType<typeof checkpointTargets>;
  try {
    targets = checkpointTargets(options.checkpointPublication ?? {});
  } catch (error) {
    io.err(`reins restore: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  if (targets.length === 0)
    io.err(
      'reins restore: no publication targets configured (audit.checkpoints.publish): the restore is covered by the database alone',
    );
  let failed = false;
  for (const target of targets) {
    try {
      await target.deliver(checkpoints);
      io.out(
        `published the checkpoint over the restore (record ${checkpoints.at(-1)?.seq}) to ${target.name}`,
      );
    } catch (error) {
      failed = true;
      io.err(
        `reins restore: publishing to ${target.name} failed: ${describeError(error)}; the restore is recorded, publish its checkpoint there (\`reins audit checkpoint\`) before relying on verify`,
      );
    } finally {
      await target.close?.().catch(() => {});
    }
  }
  return failed ? EXIT_ERROR : EXIT_OK;
}

function readManifest(directory: string): BackupManifestV1 {
  const path = join(directory, BACKUP_MANIFEST_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ReinsError('not_found', `no backup manifest at \`${path}\`: ${describeError(error)}`);
  }
  if (typeof value === 'object' && value !== null && !('attestation' in value))
    throw new ReinsError(
      'invalid_input',
      `\`${path}\` is not signed: a restore uses only backups whose manifest \`reins backup\` signed with the checkpoint key (take a new backup)`,
    );
  const parsed = BackupManifestV1Schema.safeParse(value);
  if (!parsed.success) throw new ReinsError('invalid_input', `\`${path}\` is not a backup manifest`);
  return parsed.data;
}

async function sha256Of(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
