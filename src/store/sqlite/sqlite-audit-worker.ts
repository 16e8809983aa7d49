/**
 * @module store/sqlite/sqlite-audit-worker
 * Worker thread that owns the write connection of a file-backed audit log. Hashing, inserting, signing
 * checkpoints and the fsync of each group commit happen here, in parallel with the pipeline on the
 * main thread, which also keeps the event loop responsive while a commit is on its way to disk.
 * Requests are handled in the order they arrive.
 *
 * With `causal` durability (decision 0028) this thread fsyncs the write-ahead log itself: before it
 * answers a batch that must be durable, and, for a batch whose records may be synced later, right
 * after it has answered (or after `syncDelayMs`), unless a later durable batch has covered it by then.
 * Every sync is reported (`synced`: the records up to that seq are durable, whoever wrote them).
 */
import { createPrivateKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CheckpointSigner } from '../../audit/checkpoint.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import { describeError } from '../../spec/errors.js';
import type { CapturedInBatch } from '../captured-content.js';
import {
  configureConnection,
  createBatchWriter,
  type SqliteDurability,
  unflattenEvents,
  WalSync,
} from './sqlite-audit-writer.js';

export interface WorkerSetup {
  readonly path: string;
  /** PKCS#8 PEM of the Ed25519 signing key, when checkpoints are signed. */
  readonly signingKeyPem?: string;
  readonly checkpointEvery: number;
  readonly durability: SqliteDurability;
  /** `causal`: how long a batch answered before it is durable waits for its sync (default 0: at once). */
  readonly syncDelayMs?: number;
}

/**
 * Events travel as one flat array of strings (see flattenEvents): much cheaper to clone than objects.
 * The contents captured with them (if any) travel beside them, each naming its event's position.
 */
export type WorkerRequest =
  | {
      readonly id: number;
      readonly fields: readonly string[];
      readonly captured?: readonly CapturedInBatch[];
      /** Durable before the answer (false: `causal` may answer once committed and sync right after). */
      readonly sync: boolean;
    }
  | { readonly id: number; readonly sync: true }
  | { readonly id: number; readonly checkpoint: true }
  | { readonly id: number; readonly close: true };

export type WorkerResponse =
  | {
      readonly id: number;
      readonly ok: true;
      readonly firstSeq: number;
      readonly hashes: readonly string[];
      readonly checkpoints: readonly AuditCheckpointV1[];
      /** The records up to this seq are durable (0: none known). */
      readonly durableThrough: number;
    }
  /** An answer to a sync request, or (id 0) a deferred sync reported on its own. */
  | { readonly id: number; readonly ok: true; readonly synced: number }
  | { readonly id: number; readonly ok: true; readonly checkpoint: AuditCheckpointV1 | null }
  | { readonly id: number; readonly ok: false; readonly error: string };

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('sqlite-audit-worker must run in a worker thread');

const database = new Database(setup.path, { fileMustExist: true });
configureConnection(database, setup.durability);
const signer = setup.signingKeyPem ? new CheckpointSigner(createPrivateKey(setup.signingKeyPem)) : undefined;
const writer = createBatchWriter(database, { signer, checkpointEvery: setup.checkpointEvery });
const causal = setup.durability === 'causal';
const wal = new WalSync(`${setup.path}-wal`);
const headSeq = database.prepare<[], { seq: number | null }>('select max(seq) as seq from audit_events');
/** `causal`: the records up to this seq are known durable. */
let syncedThrough = 0;
/** Cancels the deferred sync scheduled, if any. */
let deferred: (() => void) | undefined;

/** Fsyncs the WAL: every record committed so far (by any connection) is then durable. */
function syncNow(): number {
  const head = headSeq.get()?.seq ?? 0;
  if (head > syncedThrough) wal.sync();
  syncedThrough = Math.max(syncedThrough, head);
  return syncedThrough;
}

/** The deferred sync of batches answered before they were durable (a failure is reported, id 0). */
function syncDeferred(): void {
  deferred = undefined;
  try {
    port?.postMessage({ id: 0, ok: true, synced: syncNow() } satisfies WorkerResponse);
  } catch (error) {
    port?.postMessage({ id: 0, ok: false, error: describeError(error) } satisfies WorkerResponse);
  }
}

function scheduleDeferred(): () => void {
  const delay = setup.syncDelayMs ?? 0;
  if (delay > 0) {
    const timer = setTimeout(syncDeferred, delay);
    return () => clearTimeout(timer);
  }
  const immediate = setImmediate(syncDeferred);
  return () => clearImmediate(immediate);
}

function write(request: Extract<WorkerRequest, { fields: readonly string[] }>): WorkerResponse {
  const written = writer.write(unflattenEvents(request.fields), request.captured);
  const last = written.firstSeq + written.hashes.length - 1;
  if (!causal) return { id: request.id, ok: true, ...written, durableThrough: last };
  // a signed checkpoint is published once answered: it must not name records a power cut could take
  if (request.sync || written.checkpoints.length > 0)
    return { id: request.id, ok: true, ...written, durableThrough: syncNow() };
  // answered now, synced right after: requests already queued run first, and a durable batch among
  // them covers this one (its sync then finds nothing new)
  deferred ??= scheduleDeferred();
  return { id: request.id, ok: true, ...written, durableThrough: syncedThrough };
}

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    if ('close' in request) {
      deferred?.();
      if (causal) syncNow();
      wal.close();
      database.close();
      port.postMessage({ id: request.id, ok: true, checkpoint: null } satisfies WorkerResponse);
      port.close();
      return;
    }
    if ('checkpoint' in request) {
      const checkpoint = writer.checkpoint() ?? null;
      if (checkpoint !== null && causal) syncNow();
      response = { id: request.id, ok: true, checkpoint };
    } else if ('fields' in request) {
      response = write(request);
    } else {
      response = { id: request.id, ok: true, synced: causal ? syncNow() : (headSeq.get()?.seq ?? 0) };
    }
  } catch (error) {
    response = { id: request.id, ok: false, error: describeError(error) };
  }
  port.postMessage(response);
});
