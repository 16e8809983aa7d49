/**
 * @module rollback/rollback-run
 * Undoes a session (issue 16, decision 0022): `reins rollback`, `POST /v1/sessions/{id}/rollback` and
 * the console's button all come here.
 *
 * - The plan first (rollback/rollback-plan); calls of other sessions that changed the same resources
 *   since are conflicts, and a rollback with conflicts does not run unless the operator forces it.
 * - One rollback of a session at a time, in every process and replica: a lease in the shared counter
 *   store, renewed while it runs, lapsing if its process dies (kill -9), so a rollback can be started
 *   again.
 * - Every rollback is an operator action on record (`session.rollback`, then `.done` or `.failed`),
 *   whose id ties its compensations together.
 * - Compensations run newest call first, each step through the full pipeline (`Harness.compensate`:
 *   decided, recorded with the call it undoes, executed on the upstream), on the authority of the
 *   operator, on behalf of the agent that made the call, in the session's rollback session.
 * - Never twice: a call whose compensation completed is skipped; a call whose state can be read again
 *   is skipped when it is already as captured (an interrupted rollback that got that far); an
 *   interrupted compensation that can be neither checked nor safely repeated stops the rollback.
 * - The first compensation that fails stops it; the report says exactly what was and was not undone.
 */
import { randomUUID } from 'node:crypto';
import { type CaptureScreens, takeCaptures, type UpstreamReader } from '../harness/capture.js';
import type { CallResult, CompensationRequest } from '../harness/types.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { OperatorActionEvent } from '../spec/audit-event.js';
import { describeError } from '../spec/errors.js';
import type { Actor } from '../spec/oversight.js';
import { rollbackSessionOf } from '../spec/reversal.js';
import type { Principal } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import type { CounterStore } from '../store/state-stores.js';
import {
  type Conflict,
  conflictsSince,
  type PlannedCall,
  planRollback,
  type RollbackPlan,
  RollbackRefused,
} from './rollback-plan.js';

/** What runs compensations and reads upstreams: the gateway of the deployment (cli wires it). */
export interface CompensationRunner {
  /** One step through the full pipeline; a string when it could not be started (tool not available). */
  compensate(request: CompensationRequest, signal?: AbortSignal): Promise<CallResult | string>;
  /** Reads tools of `server` as the agent reaches them (the captures), if there is such an upstream. */
  upstreamReader(
    identity: { principal: Principal; sessionId: string },
    server: string,
  ): UpstreamReader | undefined;
  /** The failure a tool's result reports, exactly as the capture stage read it. */
  errorOfResult(result: unknown): string | undefined;
}

export interface RollbackOptions {
  readonly audit: AuditLog;
  readonly policy: PreparedPolicy;
  readonly counters: Pick<CounterStore, 'acquireLease' | 'releaseLease'>;
  readonly runner: CompensationRunner;
  readonly sessionId: string;
  /** Keep this call and undo everything after it. */
  readonly to?: string;
  readonly actor: Actor;
  readonly reason: string;
  /** Undo even where calls of other sessions changed the same resources since (overwriting them). */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  readonly clock?: () => number;
}

export type CallRollbackStatus =
  | 'undone'
  | 'already-undone'
  | 'nothing-to-undo'
  | 'cannot-undo'
  | 'failed'
  | 'not-reached';

export interface CallRollbackResult {
  readonly decisionId: string;
  readonly tool: string;
  readonly status: CallRollbackStatus;
  readonly detail?: string;
  /** Decision ids of the compensation steps this rollback ran for it. */
  readonly compensations: readonly string[];
}

export interface RollbackReport {
  readonly rollbackId: string;
  readonly plan: RollbackPlan;
  readonly results: readonly CallRollbackResult[];
  /** Every call that could be undone is undone (calls that cannot be undone are listed, not a failure). */
  readonly complete: boolean;
  readonly message: string;
}

const LEASE_TTL_MS = 30_000;
const LEASE_RENEW_MS = 10_000;

export { RollbackRefused } from './rollback-plan.js';

/**
 * Takes the session's lease, plans and runs a rollback; throws `RollbackRefused` when it cannot start
 * (with nothing done). The plan is made under the lease, so no other rollback changes it meanwhile.
 */
export async function rollbackSession(options: RollbackOptions): Promise<RollbackReport> {
  const { audit, policy, sessionId } = options;
  const rollbackId = randomUUID();
  const lease = await Lease.take(options, `reins.rollback:${sessionId}`, rollbackId);
  try {
    const plan = await planRollback({ audit, policy, sessionId, ...(options.to ? { to: options.to } : {}) });
    if (plan.conflicts.length > 0 && options.force !== true)
      throw new RollbackRefused(
        `${plan.conflicts.length} change(s) by other sessions since would be overwritten (${describeConflicts(plan.conflicts)}): nothing was undone; check them, then roll back with --force to overwrite`,
        'conflicts',
        plan,
      );
    const agentId = plan.calls[0]?.principal.agentId ?? '';
    const about = { sessionId, agentId };
    const where = options.to ? `, keeping \`${options.to}\`` : '';
    await record(
      options,
      rollbackId,
      'session.rollback',
      `${options.reason} (undo ${plan.calls.length} call(s)${where})`,
      about,
    );
    const results = await runPlan(options, plan, rollbackId, lease);
    const report = reportOf(rollbackId, plan, results);
    await record(
      options,
      randomUUID(),
      report.complete ? 'session.rollback.done' : 'session.rollback.failed',
      `${report.message} (rollback ${rollbackId})`,
      about,
    );
    return report;
  } finally {
    await lease.release();
  }
}

async function runPlan(
  options: RollbackOptions,
  plan: RollbackPlan,
  rollbackId: string,
  lease: Lease,
): Promise<CallRollbackResult[]> {
  const results: CallRollbackResult[] = [];
  let stopped = false;
  let scannedTo = plan.scannedTo;
  // changes other sessions made since the plan, against every call still to undo
  const arisen = new Map<string, Conflict[]>();
  for (const [index, call] of plan.calls.entries()) {
    const tool = `${call.tool.server}/${call.tool.name}`;
    const base = { decisionId: call.decisionId, tool, compensations: [] as string[] };
    if (stopped) {
      results.push({ ...base, status: 'not-reached' });
      continue;
    }
    if (call.status !== 'undo') {
      const status = call.status === 'undone' ? 'already-undone' : call.status;
      results.push({ ...base, status, ...(call.reason !== undefined ? { detail: call.reason } : {}) });
      continue;
    }
    // another session may have changed the same resources while this rollback ran: not overwritten
    const since = await conflictsSince(
      options.audit,
      options.policy,
      plan.sessionId,
      scannedTo,
      plan.calls.slice(index),
    );
    scannedTo = since.lastSeq;
    for (const conflict of since.conflicts)
      arisen.set(conflict.decisionId, [...(arisen.get(conflict.decisionId) ?? []), conflict]);
    const conflicts = options.force === true ? [] : (arisen.get(call.decisionId) ?? []);
    const lost = lease.lost;
    if (lost !== undefined || conflicts.length > 0) {
      const detail =
        lost ??
        `another session changed it while the rollback ran (${describeConflicts(conflicts)}): not overwritten; roll back again with --force to overwrite`;
      results.push({ ...base, status: 'failed', detail });
      stopped = true;
      continue;
    }
    const result = await undoCall(options, plan, call, rollbackId);
    results.push(result);
    if (result.status === 'failed') stopped = true;
  }
  return results;
}

async function undoCall(
  options: RollbackOptions,
  plan: RollbackPlan,
  call: PlannedCall,
  rollbackId: string,
): Promise<CallRollbackResult> {
  const tool = `${call.tool.server}/${call.tool.name}`;
  const base = { decisionId: call.decisionId, tool };
  const session = rollbackSessionOf(plan.sessionId);
  if (call.verifiable) {
    const already = await alreadyAsCaptured(options, call, session);
    if (already === true)
      return {
        ...base,
        status: 'already-undone',
        detail: 'its state is already as captured before it ran',
        compensations: [],
      };
    if (typeof already === 'string') return { ...base, status: 'failed', detail: already, compensations: [] };
  } else if (call.interrupted && !call.idempotent) {
    return {
      ...base,
      status: 'failed',
      detail:
        'an earlier rollback started to undo it and was interrupted; whether that ran cannot be read back, and running it again is not known to be safe: check the state by hand',
      compensations: [],
    };
  }
  const compensations: string[] = [];
  for (const [step, compensation] of call.steps.entries()) {
    // a step a stopped rollback completed is not run again (an undo never runs twice)
    if (call.doneSteps.includes(step)) continue;
    const request: CompensationRequest = {
      principal: call.principal,
      sessionId: session,
      tool: { server: call.tool.server, name: compensation.tool },
      args: compensation.args,
      undoneArgs: call.reversalCall.args,
      compensates: {
        decisionId: call.decisionId,
        sessionId: plan.sessionId,
        rollbackId,
        by: options.actor.id,
        step,
        steps: call.steps.length,
      },
    };
    const result = await options.runner.compensate(request, options.signal);
    if (typeof result === 'string')
      return {
        ...base,
        status: 'failed',
        detail: `step ${step + 1} could not run: ${result}`,
        compensations,
      };
    compensations.push(result.decisionId);
    // a tool that answered with an error (recorded `error`) did not undo anything
    if (result.status !== 'ok' || result.outcome !== 'ok') {
      const why =
        result.status === 'denied'
          ? `refused: ${result.reason}`
          : `failed: ${result.status === 'error' ? result.error : `the tool reported an error (${options.runner.errorOfResult(result.output) ?? 'no text'})`}`;
      return {
        ...base,
        status: 'failed',
        detail: `step ${step + 1} (\`${compensation.tool}\`) ${why}`,
        compensations,
      };
    }
  }
  return { ...base, status: 'undone', compensations };
}

/**
 * Is the call's state already as it was captured before it ran (its captures, taken again now, hold
 * the same content)? A string when they cannot be taken.
 */
async function alreadyAsCaptured(
  options: RollbackOptions,
  call: PlannedCall,
  session: string,
): Promise<boolean | string> {
  const compiled = options.policy.reversalOf(call.tool);
  const read = options.runner.upstreamReader(
    { principal: call.principal, sessionId: session },
    call.tool.server,
  );
  if (compiled === undefined || read === undefined)
    return `its state cannot be read again: no upstream \`${call.tool.server}\` here`;
  const screens: CaptureScreens = {
    screen: (value) => ({ ok: true, value }),
    errorOfResult: (result) => options.runner.errorOfResult(result),
  };
  const taken = await takeCaptures(
    compiled,
    call.reversalCall,
    read,
    screens,
    options.signal ?? new AbortController().signal,
  );
  if (taken.failure !== undefined) return `its state cannot be read again: ${taken.failure}`;
  const now = taken.digests;
  return (
    now.length === call.captureDigests.length && now.every((digest, at) => digest === call.captureDigests[at])
  );
}

function reportOf(
  rollbackId: string,
  plan: RollbackPlan,
  results: readonly CallRollbackResult[],
): RollbackReport {
  const count = (status: CallRollbackStatus) => results.filter((result) => result.status === status).length;
  const failed = results.find((result) => result.status === 'failed');
  const complete = failed === undefined;
  const parts = [
    `${count('undone')} undone`,
    `${count('already-undone')} already undone`,
    `${count('nothing-to-undo')} with nothing to undo`,
    `${count('cannot-undo')} that cannot be undone`,
  ];
  const message = complete
    ? `rollback of session \`${plan.sessionId}\` done: ${parts.join(', ')}`
    : `rollback of session \`${plan.sessionId}\` stopped at \`${failed.decisionId}\` (${failed.detail ?? 'failed'}): ${parts.join(', ')}, ${count('not-reached')} not reached; run it again to resume`;
  return { rollbackId, plan, results, complete, message };
}

function describeConflicts(conflicts: RollbackPlan['conflicts']): string {
  return conflicts
    .slice(0, 5)
    .map(
      (conflict) =>
        `\`${conflict.resource}\` by session \`${conflict.other.sessionId}\` (call \`${conflict.other.decisionId}\`)`,
    )
    .join('; ');
}

async function record(
  options: RollbackOptions,
  id: string,
  action: string,
  reason: string,
  about: { sessionId: string; agentId: string },
): Promise<void> {
  const event: OperatorActionEvent = {
    v: 1,
    id,
    time: new Date((options.clock ?? Date.now)()).toISOString(),
    kind: 'operator-action',
    decisionId: id,
    actor: { id: options.actor.id, roles: [...options.actor.roles] },
    action,
    target: { type: 'session', id: about.sessionId },
    reason,
    sessionId: about.sessionId,
    agentId: about.agentId,
  };
  await options.audit.append(event);
}

/** The session's rollback lease, renewed while the rollback runs; `lost` says why it was lost. */
class Lease {
  lost: string | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    private readonly options: RollbackOptions,
    private readonly key: string,
    private readonly holder: string,
  ) {
    this.timer = setInterval(() => void this.renew(), LEASE_RENEW_MS);
    this.timer.unref();
  }

  static async take(options: RollbackOptions, key: string, holder: string): Promise<Lease> {
    const now = (options.clock ?? Date.now)();
    let taken: boolean;
    try {
      taken = await options.counters.acquireLease(key, holder, LEASE_TTL_MS, now);
    } catch (error) {
      throw new RollbackRefused(`the rollback lease could not be taken: ${describeError(error)}`);
    }
    if (!taken)
      throw new RollbackRefused(
        `another rollback of this session is running (or one stopped less than ${LEASE_TTL_MS / 1000} s ago): try again shortly`,
        'busy',
      );
    return new Lease(options, key, holder);
  }

  private async renew(): Promise<void> {
    try {
      const now = (this.options.clock ?? Date.now)();
      if (!(await this.options.counters.acquireLease(this.key, this.holder, LEASE_TTL_MS, now)))
        this.lost = 'the rollback lease was lost to another rollback: stopped';
    } catch (error) {
      this.lost = `the rollback lease could not be renewed (${describeError(error)}): stopped`;
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.options.counters.releaseLease(this.key, this.holder).catch(() => {});
  }
}
