/**
 * @module store/sqlite/sqlite-audit-worker
 * Worker thread that owns the write connection of a file-backed audit log. Hashing, inserting and the
 * fsync of each group commit happen here, in parallel with the pipeline on the main thread, which
 * also keeps the event loop responsive while a commit is on its way to disk. Batches are committed in
 * the order they arrive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { describeError } from '../../spec/errors.js';
import { configureConnection, createBatchWriter, unflattenEvents } from './sqlite-audit-writer.js';

/** Events travel as one flat array of strings (see flattenEvents): much cheaper to clone than objects. */
export type WorkerRequest =
  | { readonly id: number; readonly fields: readonly string[] }
  | { readonly id: number; readonly close: true };

export type WorkerResponse =
  | { readonly id: number; readonly ok: true; readonly firstSeq: number; readonly hashes: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

const { path } = workerData as { path: string };
const port = parentPort;
if (port === null) throw new Error('sqlite-audit-worker must run in a worker thread');

const database = new Database(path, { fileMustExist: true });
configureConnection(database);
const write = createBatchWriter(database);

port.on('message', (request: WorkerRequest) => {
  if ('close' in request) {
    database.close();
    port.postMessage({ id: request.id, ok: true, firstSeq: 0, hashes: [] } satisfies WorkerResponse);
    port.close();
    return;
  }
  let response: WorkerResponse;
  try {
    const written = write(unflattenEvents(request.fields));
    response = {
      id: request.id,
      ok: true,
      firstSeq: written[0]?.seq ?? 0,
      hashes: written.map((record) => record.hash),
    };
  } catch (error) {
    response = { id: request.id, ok: false, error: describeError(error) };
  }
  port.postMessage(response);
});
