/**
 * @module examples/demo/run-demo
 * `reins demo`: replays four incidents from the field, first without Reins (the damage) and then with
 * it (the decisions, the evidence in the audit log, the verified chain). Self-checking: the exit code
 * says whether everything behaved as expected, whatever the printed text says. Like every file here it
 * uses Reins only through the package's public entry points; the CLI imports its build
 * (examples/demo/dist/run-demo.js, see src/cli/demo-command.ts).
 */
import type { KeyObject } from 'node:crypto';
import { type CheckpointKeys, CheckpointSigner } from 'reins';
import { SqliteAuditLog } from 'reins/sqlite';
import { banner, firstLine, plural, writeAll } from './demo-output.js';
import type { DemoCheck } from './demo-scenario.js';
import { appendingRun } from './demo-sessions.js';
import { runLeakyContextScenario } from './leaky-context-scenario.js';
import { runMemoryScenario } from './memory-scenario.js';
import { runReviewResponderScenario } from './review-responder-scenario.js';
import { runSupportSkillScenario } from './support-skill-scenario.js';

export interface DemoOptions {
  /** The SQLite audit log to append to; created if missing. */
  readonly auditPath: string;
  readonly write: (line: string) => void;
  /** Where the scenario policies are read from; default `examples/demo/` of this installation. */
  readonly policyDirectory?: string;
  /** The Ed25519 key that signs checkpoints (the CLI passes its checkpoint key source's). */
  readonly signingKey: KeyObject;
  /** The keys checkpoints are verified with (current and retired); default: the signing key's. */
  readonly publicKeys?: CheckpointKeys;
}

/** Runs every scenario; resolves to the process exit code (0 = every scenario behaved as expected). */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { write } = options;
  let audit: SqliteAuditLog;
  let signer: CheckpointSigner;
  try {
    signer = new CheckpointSigner(options.signingKey);
    // checkpoint often so that a short demo run shows signed checkpoints being verified
    audit = new SqliteAuditLog({ path: options.auditPath, signer, checkpointEvery: 20 });
  } catch (error) {
    write(`reins demo: ${firstLine(error)}`);
    return 1;
  }
  try {
    // The demo appends to an existing log; a log that is already broken could not show a verified chain.
    const before = await audit.verify({ publicKey: options.publicKeys ?? signer.publicKey });
    if (!before.ok) {
      write(
        `reins demo: the audit log \`${options.auditPath}\` is already broken at record ${before.firstBad?.seq ?? '?'}: ${before.firstBad?.message ?? ''}; run the demo with another log`,
      );
      return 1;
    }
    write('Reins demo: four incidents from the field, replayed without and with Reins');
    write('');
    write('Each scenario runs the same scripted agent twice: first its tools just run, then every call goes');
    write(
      'through Reins (decide -> record intent -> hold for approval -> run -> record outcome). The agents are',
    );
    write('deterministic scripts standing in for a model, so the story is the same on every run.');
    write(
      `audit log: ${options.auditPath}${before.checked > 0 ? ` (already ${plural(before.checked, 'record')}; this run appends)` : ''}`,
    );

    appendingRun(before.checked > 0);
    const shared = {
      audit,
      write,
      ...(options.policyDirectory === undefined ? {} : { policyDirectory: options.policyDirectory }),
    };
    const support = await runSupportSkillScenario({ ...shared, auditHeadSeq: before.lastSeq });
    const reviews = await runReviewResponderScenario({
      ...shared,
      auditHeadSeq: support.audit.chain.lastSeq,
    });
    const memory = await runMemoryScenario({ ...shared, auditHeadSeq: reviews.audit.chain.lastSeq });
    const leaky = await runLeakyContextScenario({ ...shared, auditHeadSeq: memory.audit.chain.lastSeq });
    const checks: DemoCheck[] = [...support.checks, ...reviews.checks, ...memory.checks, ...leaky.checks];
    await audit.checkpoint();
    const final = await audit.verify({ publicKey: options.publicKeys ?? signer.publicKey });
    const failed = checks.filter((item) => !item.passed);

    writeAll(write, banner('Summary'));
    for (const item of checks) write(`  ${item.passed ? 'ok  ' : 'FAIL'}  ${item.description}`);
    write('');
    const appended =
      support.audit.records + reviews.audit.records + memory.audit.records + leaky.audit.records;
    const governed =
      support.withReins.calls.length +
      reviews.withReins.calls.length +
      memory.withReins.calls.length +
      leaky.withReins.calls.length;
    write(`  this run: ${plural(governed, 'governed call')}, ${plural(appended, 'audit record')} appended`);
    if (failed.length > 0) {
      write(
        `reins demo: ${failed.length} of ${plural(checks.length, 'check')} failed: Reins did not behave as expected`,
      );
    }
    if (final.ok) {
      write(
        `audit log: ${options.auditPath} (${plural(final.checked, 'record')}, chain verified against ${plural(final.checkpointsVerified, 'signed checkpoint')})`,
      );
    } else {
      write(
        `audit log: ${options.auditPath} (chain BROKEN at record ${final.firstBad?.seq ?? '?'}: ${final.firstBad?.message ?? ''})`,
      );
    }
    return failed.length === 0 && final.ok ? 0 : 1;
  } catch (error) {
    // print the whole message: a policy that does not load lists one problem per line
    write(`reins demo failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await audit.close();
  }
}
