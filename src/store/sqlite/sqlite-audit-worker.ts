/**
 * @module store/sqlite/sqlite-audit-worker
 * Worker thread that owns the write connection of a file-backed audit log. Hashing, inserting, signing
 * checkpoints and the fsync of each group commit happen here, in parallel with the pipeline on the
 * main thread, which also keeps the event loop responsive while a commit is on its way to disk.
 * Requests are handled in the order they arrive.
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
} from './sqlite-audit-writer.js';

export interface WorkerSetup {
  readonly path: string;
  /** PKCS#8 PEM of the Ed25519 signing key, when checkpoints are signed. */
  readonly signingKeyPem?: string;
  readonly checkpointEvery: number;
  readonly durability: SqliteDurability;
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
    }
  | { readonly id: number; readonly checkpoint: true }
  | { readonly id: number; readonly close: true };

export type WorkerResponse =
  | {
      readonly id: number;
      readonly ok: true;
      readonly firstSeq: number;
      readonly hashes: readonly string[];
      readonly checkpoints: readonly AuditCheckpointV1[];
    }
  | { readonly id: number; readonly ok: true; readonly checkpoint: AuditCheckpointV1 | null }
  | { readonly id: number; readonly ok: false; readonly error: string };

const setup = workerData as WorkerSetup;
const port = parentPort;
if (port === null) throw new Error('sqlite-audit-worker must run in a worker thread');

const database = new Database(setup.path, { fileMustExist: true });
configureConnection(database, setup.durability);
const signer = setup.signingKeyPem ? new CheckpointSigner(createPrivateKey(setup.signingKeyPem)) : undefined;
const writer = createBatchWriter(database, { signer, checkpointEvery: setup.checkpointEvery });

port.on('message', (request: WorkerRequest) => {
  let response: WorkerResponse;
  try {
    if ('close' in request) {
      database.close();
      port.postMessage({ id: request.id, ok: true, checkpoint: null } satisfies WorkerResponse);
      port.close();
      return;
    }
    if ('checkpoint' in request) {
      response = { id: request.id, ok: true, checkpoint: writer.checkpoint() ?? null };
    } else {
      const written = writer.write(unflattenEvents(request.fields), request.captured);
      response = { id: request.id, ok: true, ...written };
    }
  } catch (error) {
    response = { id: request.id, ok: false, error: describeError(error) };
  }
  port.postMessage(response);
});
