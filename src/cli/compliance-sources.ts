/**
 * @module cli/compliance-sources
 * What the compliance scan (inspect/compliance-scan) is handed as data from the deployment, gathered in
 * one place for `reins compliance scan` and the scheduled scan of `reins serve`: the tools of
 * reins.lock, the ages of the signing keys (the time their key file was written: `reins keys rotate`
 * writes a new one), where checkpoints are published and the copies a scan can read back, and the
 * chain verification `reins audit verify` runs (published checkpoints, trusted keys, restores).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readCheckpoints } from '../export/checkpoint-file.js';
import type { CheckpointPublishConfig } from '../export/checkpoint-publisher.js';
import { ToolPins } from '../gateway/tool-pinning.js';
import type { ChainVerification, LockedTool, SigningKeyAge } from '../inspect/compliance-scan.js';
import { CURRENT_KEY_FILE } from '../keys/key-directory.js';
import { creatableKeyMissing, describeKeySource, KEY_PURPOSES } from '../keys/key-source.js';
import type { AuditCheckpointV1 } from '../spec/audit-checkpoint.js';
import { DEFAULT_CHECKPOINT_EVERY } from '../spec/audit-checkpoint.js';
import type { AuditLog } from '../store/audit-log.js';
import { keySourceOf, type StoreOptions, verificationKeys } from './audit-store.js';
import { verifyAccountingForRestores } from './restore-verification.js';

/** The tools of the lock file; undefined when there is none yet (no gateway has listed a tool). */
export function lockedTools(lock: string): { path: string; tools: LockedTool[] } | undefined {
  if (!existsSync(lock)) return undefined;
  const pins = ToolPins.load(lock, { autoSave: false });
  const tools: LockedTool[] = [
    ...pins.pinned().map((pin) => ({ key: pin.key, status: 'pinned' as const, since: pin.approvedAt })),
    ...pins.quarantined().map((tool) => ({ key: tool.key, status: tool.reason, since: tool.seenAt })),
  ];
  return { path: lock, tools };
}

/** Each signing key the deployment has, with the time its file was written (unknown for a variable). */
export function signingKeyAges(options: StoreOptions): SigningKeyAge[] {
  return KEY_PURPOSES.flatMap((purpose) => {
    const resolved = keySourceOf(purpose, options);
    if (creatableKeyMissing(resolved)) return [];
    const source = describeKeySource(resolved);
    const file =
      'directory' in resolved.source
        ? join(resolved.source.directory, CURRENT_KEY_FILE)
        : 'file' in resolved.source
          ? resolved.source.file
          : undefined;
    if (file === undefined || !existsSync(file)) return [{ purpose, source }];
    return [{ purpose, source, createdAt: statSync(file).mtime }];
  });
}

/** Where checkpoints go, and the published copies a scan can read back (a directory target). */
export function checkpointPublication(publish: CheckpointPublishConfig): {
  targets: string[];
  published?: AuditCheckpointV1[];
} {
  const targets = [
    ...(publish.directory !== undefined ? [`directory ${publish.directory}`] : []),
    ...(publish.webhook !== undefined ? [`webhook ${publish.webhook}`] : []),
    ...(publish.otlp !== undefined ? [`otlp ${publish.otlp}`] : []),
  ];
  if (publish.directory === undefined) return { targets };
  // a directory no checkpoint has reached yet holds none, which is what the scan then reports on
  const published = existsSync(publish.directory) ? readCheckpoints([publish.directory]) : [];
  return { targets, published };
}

/** The verification `reins audit verify` runs, as a scan reads it: ok, or the first problem. */
export function chainVerifier(
  log: AuditLog,
  options: StoreOptions,
  published: readonly AuditCheckpointV1[],
): () => Promise<ChainVerification> {
  return async () => {
    const { keys } = verificationKeys(options);
    const { report, problems } = await verifyAccountingForRestores(log, {
      keys,
      published,
      checkpointEvery: options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    });
    if (!report.ok)
      return {
        ok: false,
        message: `first bad record ${report.firstBad?.seq} (${report.firstBad?.problem}): ${report.firstBad?.message}`,
      };
    const [problem] = problems;
    if (problem !== undefined)
      return { ok: false, message: `restore record ${problem.seq}: ${problem.message}` };
    return { ok: true, checked: report.checked, signaturesChecked: report.signaturesChecked };
  };
}
