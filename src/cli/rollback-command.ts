/**
 * @module cli/rollback-command
 * `reins rollback --session <id> [--to <decision-id>] [--dry-run] [--force] --reason <text>`: undoes
 * what an agent session did (rollback/). It starts the deployment's gateway parts without a listener
 * (policy, store, upstreams, harness) so that each compensation runs through the full pipeline on the
 * same upstreams the agent used, and acts as the operator whose user token it is given (admin, or a
 * role the policy's `rollback.operators` names). `--dry-run` shows the plan and changes nothing.
 */
import { mayRollBack } from '../api/users.js';
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { planRollback } from '../rollback/rollback-plan.js';
import { RollbackRefused, rollbackSession } from '../rollback/rollback-run.js';
import {
  type ShownCall,
  type ShownPlan,
  type ShownReport,
  type ShownStep,
  showPlan,
  showReport,
} from '../rollback/rollback-service.js';
import { describeError } from '../spec/errors.js';
import type { Actor } from '../spec/oversight.js';
import { storeOptionsOfConfig } from './audit-store.js';
import { loadConfigOrThrow } from './deployment.js';
import { startInProcessGateway } from './gateway-process.js';
import { type CliIo, EXIT_ERROR, EXIT_FAILED, EXIT_OK } from './io.js';
import { exitCodeOf, OperatorRefused, requireOperatorToken, userOfToken } from './operator-auth.js';
import type { ActorOptions } from './oversight-commands.js';
import { openUserStore } from './user-commands.js';

export interface RollbackCommandOptions extends ActorOptions {
  readonly config: string;
  readonly session: string;
  readonly to?: string;
  readonly dryRun?: boolean;
  readonly force?: boolean;
  readonly reason?: string;
  readonly format: string;
}

export async function runRollback(options: RollbackCommandOptions, io: CliIo): Promise<number> {
  const fail = (message: string, code: number) => {
    io.err(`reins rollback: ${message}`);
    return code;
  };
  if (options.format !== 'text' && options.format !== 'json')
    return fail('--format is text or json', EXIT_ERROR);
  if (!options.dryRun && !options.reason?.trim())
    return fail('give --reason (why, for the record)', EXIT_ERROR);
  let running: Awaited<ReturnType<typeof startInProcessGateway>> | undefined;
  try {
    const { config, directory } = loadConfigOrThrow(options.config);
    // who asks is checked before any upstream starts; a plan shows what was captured, so it is theirs too
    const token = requireOperatorToken(options, io.err);
    const loaded = loadPolicy(config.policy);
    if (!loaded.ok)
      return fail(`the policy does not load: ${loaded.problems.map(formatProblem).join('; ')}`, EXIT_ERROR);
    const actor = await operatorOf(token, storeOptionsOfConfig(config, directory), loaded.policy);
    running = await startInProcessGateway(config, directory, (line) => io.err(`reins rollback: ${line}`));
    const policy = running.policy.current;
    if (options.dryRun) {
      const planned = await planRollback({
        audit: running.audit,
        policy,
        sessionId: options.session,
        ...to(options),
      });
      // step arguments are built from captured state: shown only as screened like tool output
      const plan = showPlan(planned, policy);
      io.out(options.format === 'json' ? JSON.stringify(plan, null, 2) : describePlan(plan));
      return plan.conflicts.length > 0 ? EXIT_FAILED : EXIT_OK;
    }
    const ran = await rollbackSession({
      audit: running.audit,
      policy,
      counters: running.oversight.stores.counters,
      runner: running.gateway,
      sessionId: options.session,
      ...to(options),
      actor,
      reason: (options.reason as string).trim(),
      force: options.force === true,
    });
    const report = showReport(ran, policy);
    io.out(options.format === 'json' ? JSON.stringify(report, null, 2) : describeReport(report));
    return report.complete ? EXIT_OK : EXIT_FAILED;
  } catch (error) {
    if (error instanceof RollbackRefused) return fail(error.message, EXIT_FAILED);
    return fail(describeError(error), exitCodeOf(error));
  } finally {
    await running?.close();
  }
}

function to(options: { to?: string }): { to?: string } {
  return options.to !== undefined ? { to: options.to } : {};
}

/** The user of the token, who must be an admin or hold a role the policy lets roll back. */
async function operatorOf(
  token: string,
  storeOptions: Parameters<typeof openUserStore>[0],
  policy: PreparedPolicy,
): Promise<Actor> {
  const users = await openUserStore(storeOptions);
  try {
    const user = await userOfToken(token, users);
    const allowed = policy.rollbackOperators;
    if (!mayRollBack(user.roles, allowed))
      throw new OperatorRefused(
        'forbidden',
        `\`${user.id}\` needs one of the roles ${allowed.join(', ')} to roll back a session`,
      );
    return { id: user.id, roles: [...user.roles] };
  } finally {
    await users.close().catch(() => {});
  }
}

export function describePlan(plan: ShownPlan): string {
  const lines = [
    `rollback plan for session \`${plan.sessionId}\`${plan.to ? `, keeping \`${plan.to}\` and what came before` : ''} (newest first):`,
  ];
  for (const call of plan.calls) lines.push(...describePlannedCall(call));
  if (plan.calls.length === 0) lines.push('  nothing after the rollback point ran');
  if (plan.conflicts.length > 0) {
    lines.push('conflicts (changes by other sessions since, which undoing would overwrite):');
    for (const conflict of plan.conflicts)
      lines.push(
        `  \`${conflict.resource}\`: undoing ${conflict.decisionId} would overwrite ${conflict.other.tool.server}/${conflict.other.tool.name} ${conflict.other.decisionId} by agent \`${conflict.other.agentId}\` in session \`${conflict.other.sessionId}\` at ${conflict.other.time}`,
      );
  }
  return lines.join('\n');
}

function describePlannedCall(call: ShownCall): string[] {
  const head = `  ${call.time} ${call.decisionId} ${call.tool.server}/${call.tool.name}: ${call.status}${call.reason ? ` (${call.reason})` : ''}`;
  return [head, ...call.steps.map((step) => `      ${step.tool}(${describeArgs(step)})`)];
}

/** Step arguments for a terminal (already screened by showPlan), shortened. */
function describeArgs(step: ShownStep): string {
  if (step.withheld !== undefined) return `(withheld: ${step.withheld})`;
  return Object.entries(step.args)
    .map(([key, value]) => {
      const text = JSON.stringify(value) ?? 'undefined';
      return `${key}=${text.length > 80 ? `${text.slice(0, 77)}…` : text}`;
    })
    .join(', ');
}

function describeReport(report: ShownReport): string {
  const lines = [describePlan(report.plan), `rollback ${report.rollbackId}:`];
  for (const result of report.results)
    lines.push(
      `  ${result.decisionId} ${result.tool}: ${result.status}${result.detail ? ` (${result.detail})` : ''}`,
    );
  lines.push(report.message);
  return lines.join('\n');
}
