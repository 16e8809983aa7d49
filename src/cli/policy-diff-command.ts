/**
 * @module cli/policy-diff-command
 * `reins policy diff --base <policy> --candidate <policy> [--traffic <SQLite file | postgres:// URL>]`:
 * policy CI. Replays the recorded traffic (the deployment's audit log by default) with the full
 * principal and the session state as it was, under both policies, and prints the calls the candidate
 * decides differently: counts by rule and by tool, then examples. Exit 0 when nothing changes, 1 when
 * something does, 2 when it could not be told (a policy that does not load, an unreadable log, or a
 * base that does not reproduce the recorded decisions, unless `--allow-drift`).
 */
import { inspect } from 'node:util';
import { readTraffic } from '../inspect/recorded-traffic-reader.js';
import { loadPolicy } from '../loader/policy-files.js';
import { type DecisionChange, diffPolicies, type PolicyDiffReport } from '../policy/policy-diff.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { describeError } from '../spec/errors.js';
import { openReadableAuditLog, type StoreOptions, storeOfLog } from './audit-store.js';
import { resolveDeployment } from './deployment.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export interface PolicyDiffOptions {
  readonly base: string;
  readonly candidate: string;
  /** A SQLite audit log or a PostgreSQL URL; default: the deployment's store. */
  readonly traffic?: string;
  /** Changes shown in full (default 10). */
  readonly examples?: number;
  /** Print the report as JSON instead of text. */
  readonly json?: boolean;
  /** Accept a base that does not reproduce the record (exit by the changes alone). */
  readonly allowDrift?: boolean;
}

/** `reins policy diff`'s options, as the command line gives them. */
export interface PolicyDiffCommandOptions {
  readonly base?: string;
  readonly candidate: string;
  readonly traffic?: string;
  readonly config?: string;
  readonly examples: number;
  readonly json?: boolean;
  readonly allowDrift?: boolean;
}

/** `reins policy diff`: the policies and the traffic of the deployment, unless given. */
export async function runPolicyDiff(options: PolicyDiffCommandOptions, io: CliIo): Promise<number> {
  let deployment: ReturnType<typeof resolveDeployment>;
  try {
    deployment = resolveDeployment({
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.base !== undefined ? { policy: options.base } : {}),
    });
  } catch (error) {
    io.err(`reins policy diff: ${describeFully(error)}`);
    return EXIT_ERROR;
  }
  if (deployment.policy === undefined) {
    io.err('reins policy diff: give --base, or a configuration that names the policy in force (--config)');
    return EXIT_ERROR;
  }
  if (options.traffic === undefined && deployment.configFile === undefined) {
    io.err(
      'reins policy diff: give --traffic, or the deployment whose log to replay (--config, REINS_CONFIG)',
    );
    return EXIT_ERROR;
  }
  return policyDiff(
    {
      base: deployment.policy,
      candidate: options.candidate,
      ...(options.traffic !== undefined ? { traffic: options.traffic } : {}),
      examples: options.examples,
      json: options.json === true,
      allowDrift: options.allowDrift === true,
    },
    deployment.store,
    io,
  );
}

export async function policyDiff(
  options: PolicyDiffOptions,
  store: StoreOptions,
  io: CliIo,
): Promise<number> {
  const base = load('--base', options.base, io);
  const candidate = load('--candidate', options.candidate, io);
  if (base === undefined || candidate === undefined) return EXIT_ERROR;
  let report: PolicyDiffReport;
  let problems = 0;
  try {
    const log = await openReadableAuditLog(trafficStore(options.traffic, store));
    try {
      const records = await readTraffic(log, (seq, message) => {
        problems++;
        if (problems <= 5) io.err(`record ${seq} skipped: ${message}`);
      });
      report = diffPolicies(records, base, candidate);
    } finally {
      await log.close().catch(() => undefined);
    }
  } catch (error) {
    io.err(`cannot read the traffic: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  if (options.json) io.out(JSON.stringify({ ...report, skippedRecords: problems }, null, 2));
  else printReport(report, options.examples ?? 10, io);
  if (problems > 0) io.err(`${problems} record(s) could not be read and were left out`);
  // a base that does not reproduce the log makes "no changes" meaningless: not told, unless accepted
  if (report.drift.length > 0 && !options.allowDrift) {
    io.err(
      `reins policy diff: the base does not reproduce ${report.drift.length} recorded decision(s), so the diff cannot be trusted (exit 2); pass the policy that recorded the log as --base, or --allow-drift to accept it`,
    );
    return EXIT_ERROR;
  }
  return report.changes.length > 0 ? EXIT_FAILED : EXIT_OK;
}

/** `--traffic`: a PostgreSQL URL or a SQLite file; without it, the deployment's own store. */
function trafficStore(traffic: string | undefined, store: StoreOptions): StoreOptions {
  return traffic === undefined ? store : storeOfLog(traffic);
}

function load(flag: string, path: string, io: CliIo): PreparedPolicy | undefined {
  const loaded = loadPolicy(path);
  if (loaded.ok) return loaded.policy;
  io.err(`${flag} \`${path}\` does not load:`);
  for (const problem of loaded.problems) io.err(`  ${formatProblem(problem)}`);
  return undefined;
}

function printReport(report: PolicyDiffReport, examples: number, io: CliIo): void {
  io.out(
    `${report.calls} recorded calls replayed: ${report.changes.length} decided differently by the candidate`,
  );
  if (report.changes.length > 0) {
    io.out("by rule (what decides the candidate's effect):");
    for (const [rule, count] of sortedCounts(report.byRule)) io.out(`  ${rule}: ${count}`);
    io.out('by tool:');
    for (const [tool, count] of sortedCounts(report.byTool)) io.out(`  ${tool}: ${count}`);
    io.out(`examples (${Math.min(examples, report.changes.length)} of ${report.changes.length}):`);
    for (const change of report.changes.slice(0, examples)) io.out(describeChange(change));
  }
  if (report.drift.length > 0) {
    io.err(
      `warning: the base decides ${report.drift.length} recorded call(s) differently from the record: it is not the policy that recorded them, or they depended on what the log does not hold (a call's context, declared user input). First: ${describeChange(report.drift[0] as DecisionChange).trim()}`,
    );
  }
  if (report.otherPolicy > 0)
    io.err(
      `note: ${report.otherPolicy} recorded call(s) were decided by a policy other than the base (another hash)`,
    );
}

function describeChange(change: DecisionChange): string {
  const reasons = change.candidate.reasons.join('; ');
  return `  #${change.seq} ${change.time} ${change.agentId} ${change.tool} (session ${change.sessionId}): ${change.base.effect} -> ${change.candidate.effect} by ${change.candidate.decidedBy.join(', ')}${reasons ? ` — ${inspect(reasons, { breakLength: Infinity })}` : ''}`;
}

function sortedCounts(counts: Readonly<Record<string, number>>): [string, number][] {
  return Object.entries(counts).sort((left, right) => right[1] - left[1] || left[0].localeCompare(right[0]));
}
