/**
 * @module store/sqlite/sqlite-verify-worker
 * Verifies the part of a file-backed audit log after a signed checkpoint, in parallel with the main
 * thread verifying the part up to it. The checkpoint is where the halves join: the main thread checks
 * that the record at its seq has its hash, this thread starts the chain from it.
 */
import { createPublicKey } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { verifyChain } from '../../audit/chain.js';
import type { AuditCheckpointV1 } from '../../spec/audit-checkpoint.js';
import type { ChainedRecord } from '../../spec/audit-event.js';
import { describeError } from '../../spec/errors.js';

export interface VerifyWorkerSetup {
  readonly path: string;
  readonly from: AuditCheckpointV1;
  readonly checkpoints: readonly AuditCheckpointV1[];
  /** Trusted public keys (SPKI PEM); none: signatures are not checked. */
  readonly publicKeyPems: readonly string[];
  readonly checkpointEvery?: number;
}

const setup = workerData as VerifyWorkerSetup;
try {
  const database = new Database(setup.path, { readonly: true, fileMustExist: true });
  const records = database
    .prepare<[number], ChainedRecord>(
      `select seq, prev_hash as prevHash, hash, body, time, kind, decision_id as decisionId, session_id as sessionId,
              agent_id as agentId, tool, effect from audit_events where seq > ? order by seq`,
    )
    .iterate(setup.from.seq);
  const report = await verifyChain(records, {
    anchor: setup.from,
    checkpoints: setup.checkpoints,
    publicKey: setup.publicKeyPems.map((pem) => createPublicKey(pem)),
    ...(setup.checkpointEvery ? { checkpointEvery: setup.checkpointEvery } : {}),
  });
  database.close();
  parentPort?.postMessage({ ok: true, report });
} catch (error) {
  parentPort?.postMessage({ ok: false, error: describeError(error) });
}
