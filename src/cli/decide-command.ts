/**
 * @module cli/decide-command
 * `reins decide [--config <reins.yaml>] [--policy <path>] --call <json|@file>`: a dry run of one call
 * through the one decision entry point (inspect/dry-run), printed as the Decision in JSON. On a
 * deployment (`--config`, REINS_CONFIG, ./reins.yaml, or `--db`/`--database-url`) the session the call
 * names is read from its audit log — history, data flow, status, limit counters — without changing
 * it; otherwise, or for a session the log has never seen, the session starts fresh. Nothing runs and
 * nothing is recorded.
 */
import { readFileSync } from 'node:fs';
import { dryRun } from '../inspect/dry-run.js';
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { Decision } from '../spec/decision.js';
import { describeError, ReinsError } from '../spec/errors.js';
import { ToolCallSchema } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { openReadableAuditLog, type StoreOptions } from './audit-store.js';
import { resolveDeployment } from './deployment.js';
import { type CliIo, describeFully, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';

export interface DecideOptions {
  readonly policy: string;
  readonly call: string;
  /** The deployment's store, whose audit log holds the live sessions; none: a fresh session. */
  readonly store?: StoreOptions;
}

export async function decide(options: DecideOptions, io: CliIo): Promise<number> {
  let text = options.call;
  try {
    if (text.startsWith('@')) text = readFileSync(text.slice(1), 'utf8');
  } catch (error) {
    io.err(`cannot read call file \`${options.call.slice(1)}\`: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    io.err(`--call is not valid JSON: ${describeError(error)}`);
    return EXIT_ERROR;
  }
  const call = ToolCallSchema.safeParse(json);
  if (!call.success) {
    for (const issue of call.error.issues)
      io.err(`invalid call: \`${issue.path.join('.') || '(root)'}\`: ${issue.message}`);
    return EXIT_ERROR;
  }
  const loaded = loadPolicy(options.policy);
  if (!loaded.ok) {
    for (const problem of loaded.problems) io.err(formatProblem(problem));
    return EXIT_FAILED;
  }
  let log: AuditLog | undefined;
  try {
    log = options.store === undefined ? undefined : await openReadableAuditLog(options.store);
  } catch (error) {
    // a deployment without a log yet has no live sessions: every session starts fresh
    if (!(error instanceof ReinsError && error.code === 'not_found')) {
      io.err(`cannot read the deployment's audit log: ${describeError(error)}`);
      return EXIT_ERROR;
    }
  }
  let decision: Decision;
  try {
    decision = await dryRun(loaded.policy, { call: call.data, now: Date.now(), ...(log ? { log } : {}) });
  } catch (error) {
    io.err(`cannot read the session from the audit log: ${describeError(error)}`);
    return EXIT_ERROR;
  } finally {
    await log?.close().catch(() => undefined);
  }
  io.out(JSON.stringify(decision, null, 2));
  return EXIT_OK;
}

/** `reins decide`'s options, as the command line gives them. */
export interface DecideCommandOptions {
  readonly policy?: string;
  readonly config?: string;
  readonly db?: string;
  readonly databaseUrl?: string;
  readonly call: string;
}

/** `reins decide`: on the deployment named or found, else on the policy given alone. */
export async function runDecide(options: DecideCommandOptions, io: CliIo): Promise<number> {
  let deployment: ReturnType<typeof resolveDeployment>;
  try {
    deployment = resolveDeployment({
      ...(options.config !== undefined ? { config: options.config } : {}),
      ...(options.db !== undefined ? { db: options.db } : {}),
      ...(options.databaseUrl !== undefined ? { databaseUrl: options.databaseUrl } : {}),
      ...(options.policy !== undefined ? { policy: options.policy } : {}),
    });
  } catch (error) {
    io.err(`reins decide: ${describeFully(error)}`);
    return EXIT_ERROR;
  }
  if (deployment.policy === undefined) {
    io.err('reins decide: give --policy, or a configuration that names one (--config, REINS_CONFIG)');
    return EXIT_ERROR;
  }
  // only a deployment that was named or found has live sessions; bare defaults are not one
  const onDeployment =
    deployment.configFile !== undefined || options.db !== undefined || options.databaseUrl !== undefined;
  return decide(
    {
      policy: deployment.policy,
      call: options.call,
      ...(onDeployment ? { store: deployment.store } : {}),
    },
    io,
  );
}
