/**
 * @module rollback/rollback-service
 * A rollback as people see it, and as the control plane asks for it (issue 16).
 *
 * - `showPlan`/`showReport`: the one place where a plan's compensation steps are made fit to show.
 *   Their arguments are built from the captured state, which may hold the very secrets the policy's
 *   redaction keeps from agents, so they pass the output redaction of the tool they call, like a tool's
 *   result; a step whose arguments the policy blocks is shown without them. `reins rollback` (text and
 *   JSON) and `POST /v1/sessions/{id}/rollback` both show plans through here. What runs is the plan
 *   itself, unscreened: the screen is for eyes only.
 * - `rollbackService`: plan and run for the control API (composed by `reins serve` from the gateway
 *   process), answering with what happened instead of throwing, so that the API can tell a session it
 *   does not know, conflicts, a rollback already under way and a rollback stopped at a failure apart.
 *   Who may roll back is the API's to check; what is recorded is rollbackSession's (operator actions).
 */
import type { Screened } from '../harness/upstream-screen.js';
import { screenWithPolicy } from '../harness/upstream-screen.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { CompensationCall } from '../policy/reversal.js';
import type { Actor } from '../spec/oversight.js';
import type { AuditLog } from '../store/audit-log.js';
import type { CounterStore } from '../store/state-stores.js';
import {
  type Conflict,
  type PlannedCall,
  planRollback,
  type RollbackPlan,
  RollbackRefused,
} from './rollback-plan.js';
import { type CompensationRunner, type RollbackReport, rollbackSession } from './rollback-run.js';

/** A compensation step as shown: its arguments screened, or withheld (then `args` is empty). */
export interface ShownStep extends CompensationCall {
  /** Why the arguments are not shown (the policy blocks what they hold, or they could not be screened). */
  readonly withheld?: string;
}

export interface ShownCall extends PlannedCall {
  readonly steps: readonly ShownStep[];
}

export interface ShownPlan extends RollbackPlan {
  readonly calls: readonly ShownCall[];
}

export interface ShownReport extends RollbackReport {
  readonly plan: ShownPlan;
}

/** The plan with every step's arguments screened by the policy's output redaction. */
export function showPlan(plan: RollbackPlan, policy: PreparedPolicy): ShownPlan {
  return {
    ...plan,
    calls: plan.calls.map((call) => ({
      ...call,
      steps: call.steps.map((step) => showStep(call, step, policy)),
    })),
  };
}

export function showReport(report: RollbackReport, policy: PreparedPolicy): ShownReport {
  return { ...report, plan: showPlan(report.plan, policy) };
}

function showStep(call: PlannedCall, step: CompensationCall, policy: PreparedPolicy): ShownStep {
  const screened: Screened<Record<string, unknown>> = screenWithPolicy(
    policy,
    { server: call.tool.server, name: step.tool },
    step.args,
    'the arguments',
  );
  return screened.ok
    ? { tool: step.tool, args: screened.value }
    : { tool: step.tool, args: {}, withheld: screened.reason };
}

export type PlanOutcome =
  | { readonly status: 'planned'; readonly plan: ShownPlan }
  /** Nothing to plan: the session or the call `to` names is not in the log, or it is a rollback session. */
  | { readonly status: 'refused'; readonly message: string };

export type RunOutcome =
  /** It ran: `report.complete` says whether every call that could be undone is undone. */
  | { readonly status: 'ran'; readonly report: ShownReport }
  | { readonly status: 'refused'; readonly message: string }
  /** Other sessions changed the same resources since: nothing ran (run with `force` to overwrite). */
  | { readonly status: 'conflicts'; readonly message: string; readonly plan: ShownPlan }
  /** It could not start (another rollback of the session holds the lease): nothing ran. */
  | { readonly status: 'busy'; readonly message: string };

export interface RollbackRequest {
  readonly sessionId: string;
  /** Keep this call and undo everything after it. */
  readonly to?: string;
}

export interface RollbackService {
  plan(request: RollbackRequest): Promise<PlanOutcome>;
  run(
    request: RollbackRequest & { readonly actor: Actor; readonly reason: string; readonly force: boolean },
  ): Promise<RunOutcome>;
}

export interface RollbackServiceOptions {
  readonly audit: AuditLog;
  /** The policy in force when asked (it may be reloaded between requests). */
  readonly policy: () => PreparedPolicy;
  readonly counters: Pick<CounterStore, 'acquireLease' | 'releaseLease'>;
  readonly runner: CompensationRunner;
}

export function rollbackService(options: RollbackServiceOptions): RollbackService {
  const { audit, counters, runner } = options;
  const plan = async (request: RollbackRequest, policy: PreparedPolicy) => {
    try {
      return await planRollback({ audit, policy, ...request });
    } catch (error) {
      if (error instanceof RollbackRefused) return error.message;
      throw error;
    }
  };
  return {
    plan: async (request) => {
      const policy = options.policy();
      const planned = await plan(request, policy);
      if (typeof planned === 'string') return { status: 'refused', message: planned };
      return { status: 'planned', plan: showPlan(planned, policy) };
    },
    run: async (request) => {
      const policy = options.policy();
      try {
        const report = await rollbackSession({ audit, policy, counters, runner, ...request });
        return { status: 'ran', report: showReport(report, policy) };
      } catch (error) {
        if (!(error instanceof RollbackRefused)) throw error;
        if (error.kind === 'conflicts' && error.plan !== undefined)
          return {
            status: 'conflicts',
            message: conflictMessage(error.plan.conflicts),
            plan: showPlan(error.plan, policy),
          };
        return { status: error.kind === 'busy' ? 'busy' : 'refused', message: error.message };
      }
    },
  };
}

function conflictMessage(conflicts: readonly Conflict[]): string {
  const sessions = [...new Set(conflicts.map((conflict) => conflict.other.sessionId))];
  return `${conflicts.length} change(s) by other sessions since (${sessions
    .slice(0, 5)
    .map((session) => `\`${session}\``)
    .join(
      ', ',
    )}) would be overwritten: nothing was undone; check them, then roll back with \`force\` to overwrite`;
}
