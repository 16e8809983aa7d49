/**
 * @module rollback/rollback-plan
 * What a rollback of a session would do, read from the audit log and the captured state, before
 * anything runs (`reins rollback --dry-run`, and the first step of every rollback): the calls to undo,
 * newest first, each with the compensation steps built from its recorded arguments, its recorded
 * result and its captured state; the calls that cannot be undone and why; the calls already undone by
 * an earlier rollback; and the calls of other sessions since that changed the same resources
 * (conflicts: undoing would overwrite their work).
 */
import { digestOf, unsealCaptured } from '../harness/capture.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { CapturedValue, CompensationCall, CompiledReversal, ReversalCall } from '../policy/reversal.js';
import { describeError } from '../spec/errors.js';
import { isRollbackSession, rollbackSessionOf } from '../spec/reversal.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { callsSince, compensationsOf, type LoggedCall, mayHaveRun, sessionCalls } from './session-calls.js';

export type PlannedStatus =
  /** Compensation steps will run. */
  | 'undo'
  /** An earlier rollback undid it (every step of a compensation completed). */
  | 'undone'
  /** It changed nothing that needs undoing (a read, a dry run, a call that changed nothing). */
  | 'nothing-to-undo'
  /** It cannot be undone: irreversible, external, undeclared, not captured, or its state was purged. */
  | 'cannot-undo';

export interface PlannedCall {
  readonly decisionId: string;
  /** The agent that made it: its compensation runs on its behalf. */
  readonly principal: Principal;
  readonly tool: ToolRef;
  readonly time: string;
  readonly status: PlannedStatus;
  /** Why it cannot be undone, or a note on how it was found undone. */
  readonly reason?: string;
  /** The compensation steps (for `undo`). */
  readonly steps: readonly CompensationCall[];
  /** What the call changed (conflict detection). */
  readonly resources: readonly string[];
  /** A compensation of it started earlier and its end is not on record (a rollback was interrupted). */
  readonly interrupted: boolean;
  /** Re-reading the state tells whether it is already undone (the call captured what it changed). */
  readonly verifiable: boolean;
  /** Its compensation may run again safely. */
  readonly idempotent: boolean;
  /** The digests of its captures' content, in order (the state before it ran). */
  readonly captureDigests: readonly string[];
  /** Steps an earlier, stopped attempt already completed (run again, they would undo twice). */
  readonly doneSteps: readonly number[];
  /** The call as its reversal's expressions see it (to take its captures again). */
  readonly reversalCall: ReversalCall;
}

export interface Conflict {
  /** The call of the rolled-back session whose undo would overwrite the other session's change. */
  readonly decisionId: string;
  readonly resource: string;
  readonly other: {
    readonly decisionId: string;
    readonly sessionId: string;
    readonly agentId: string;
    readonly tool: ToolRef;
    readonly time: string;
  };
}

export interface RollbackPlan {
  readonly sessionId: string;
  /** The call kept (`--to`): only calls after it are undone. */
  readonly to?: string;
  /** Every call after the rollback point that ran, newest first. */
  readonly calls: readonly PlannedCall[];
  readonly conflicts: readonly Conflict[];
  /** The last record read for conflicts: a later scan (before each compensation) starts after it. */
  readonly scannedTo: number;
}

/** Reads the captured state of a call (the store's raw contents by hash); undefined when purged. */
export type CapturedReader = (hash: string) => Promise<Uint8Array | undefined>;

export interface PlanInput {
  readonly audit: AuditLog;
  readonly policy: PreparedPolicy;
  readonly sessionId: string;
  readonly to?: string;
}

/** A rollback that cannot start, with nothing done: why, and the plan when it was made. */
export class RollbackRefused extends Error {
  constructor(
    message: string,
    /** `refused`: nothing to roll back; `conflicts`: other sessions changed the same resources; `busy`: another rollback holds the session. */
    readonly kind: 'refused' | 'conflicts' | 'busy' = 'refused',
    readonly plan?: RollbackPlan,
  ) {
    super(message);
    this.name = 'RollbackRefused';
  }
}

export async function planRollback(input: PlanInput): Promise<RollbackPlan> {
  const { audit, policy, sessionId, to } = input;
  if (isRollbackSession(sessionId))
    throw new RollbackRefused(`\`${sessionId}\` is a rollback session: its compensations are not undone`);
  const calls = await sessionCalls(audit, sessionId);
  if (calls.length === 0) throw new RollbackRefused(`no calls of session \`${sessionId}\` in the audit log`);
  let after = calls;
  if (to !== undefined) {
    const at = calls.findIndex((call) => call.intent.decisionId === to);
    if (at < 0) throw new RollbackRefused(`no call \`${to}\` in session \`${sessionId}\``);
    after = calls.slice(at + 1);
  }
  const compensations = await compensationsOf(audit, sessionId);
  const ran = after.filter(mayHaveRun).reverse();
  const planned: PlannedCall[] = [];
  for (const call of ran)
    planned.push(await planCall(audit, policy, call, compensations.get(call.intent.decisionId)));
  const first = after.find(mayHaveRun);
  const scan = await conflictsSince(
    audit,
    policy,
    sessionId,
    first === undefined ? Number.MAX_SAFE_INTEGER : first.seq,
    planned,
  );
  return {
    sessionId,
    ...(to !== undefined ? { to } : {}),
    calls: planned,
    conflicts: scan.conflicts,
    scannedTo: scan.lastSeq,
  };
}

async function planCall(
  audit: AuditLog,
  policy: PreparedPolicy,
  call: LoggedCall,
  earlier: readonly LoggedCall[] | undefined,
): Promise<PlannedCall> {
  const { intent } = call;
  const base = {
    decisionId: intent.decisionId,
    principal: intent.principal,
    tool: intent.tool,
    time: intent.time,
    steps: [] as CompensationCall[],
    resources: [] as string[],
    interrupted: false,
    verifiable: false,
    idempotent: false,
    captureDigests: [] as string[],
    doneSteps: [] as number[],
    reversalCall: reversalCallOf(call),
  };
  const compiled = policy.reversalOf(intent.tool);
  const resources = compiled === undefined ? [] : resourcesOf(compiled, base.reversalCall);
  const cannot = (reason: string): PlannedCall => ({ ...base, resources, status: 'cannot-undo', reason });
  const done = undoneBy(earlier);
  if (done.complete) return { ...base, resources, status: 'undone', reason: 'undone by an earlier rollback' };
  const recorded = intent.reversal;
  if (recorded === undefined) {
    const effects = policy.toolFacts(intent.tool)?.effects ?? [];
    if (effects.length > 0 && effects.every((effect) => effect === 'read'))
      return { ...base, status: 'nothing-to-undo', reason: 'it only read' };
    return cannot('the catalogue declared no way to undo it');
  }
  if (recorded.kind !== 'reversible') return cannot(`${recorded.kind}: ${recorded.reason ?? ''}`.trim());
  // a call held for the secrets in its arguments ran with them, and is recorded without them: an undo
  // built from the record would name placeholders, not what the call changed
  if (intent.decision.diagnostics.some((diagnostic) => diagnostic.code === 'sensitive_input'))
    return cannot(
      'its arguments held secrets: it ran with them, the log keeps them redacted, so its undo cannot be built',
    );
  if (compiled?.kind !== 'compensation')
    return cannot('the policy in force no longer declares how to undo it');
  const read = await capturedValues(audit, call);
  if (typeof read === 'string') return cannot(read);
  const steps = compiled.compensation(base.reversalCall, call.outcome?.result, read.values);
  if (!steps.ok) return cannot(`its compensation could not be built: ${steps.error}`);
  const verifiable = (recorded.captures?.length ?? 0) > 0;
  // a call that failed, or whose end is not on record, may have changed nothing: undoing it blindly
  // (moving back a file that never moved) would do harm; with captures, the state tells (at run time)
  if (call.outcome?.outcome !== 'ok' && !verifiable)
    return cannot(
      `it ${call.outcome === undefined ? 'has no outcome on record' : 'failed'}, and nothing was captured to tell whether it changed anything`,
    );
  const common = {
    ...base,
    resources,
    interrupted: done.interrupted,
    verifiable,
    idempotent: compiled.idempotent,
    captureDigests: read.digests,
    // a stopped attempt's completed steps, if it built the same number of steps
    doneSteps: done.steps === steps.value.length ? done.doneSteps : [],
  };
  if (steps.value.length === 0)
    return { ...common, status: 'nothing-to-undo', reason: 'it changed nothing to undo' };
  return { ...common, status: 'undo', steps: steps.value };
}

/**
 * Whether an earlier rollback completed the compensation of a call (every one of its steps ended `ok`),
 * and whether the newest attempt was interrupted (a step whose end is not on record).
 */
function undoneBy(earlier: readonly LoggedCall[] | undefined): {
  complete: boolean;
  interrupted: boolean;
  steps: number;
  doneSteps: number[];
} {
  if (earlier === undefined || earlier.length === 0)
    return { complete: false, interrupted: false, steps: 0, doneSteps: [] };
  const stepsOf = (step: LoggedCall) => step.intent.compensates?.steps ?? 0;
  const newest = earlier.at(-1) as LoggedCall;
  const count = stepsOf(newest);
  // the steps that ended ok in any attempt that built as many steps as the newest one
  const done = new Set<number>();
  for (const step of earlier)
    if (stepsOf(step) === count && step.outcome?.outcome === 'ok')
      done.add(step.intent.compensates?.step ?? -1);
  const complete =
    count > 0 && Array.from({ length: count }, (_, index) => index).every((index) => done.has(index));
  const rollbackId = newest.intent.compensates?.rollbackId;
  const interrupted = earlier.some(
    (step) => step.intent.compensates?.rollbackId === rollbackId && step.outcome === undefined,
  );
  return { complete, interrupted, steps: count, doneSteps: [...done].sort((a, b) => a - b) };
}

/** The captured state of a call (read back from the store, unsealed) and the digests of its content. */
async function capturedValues(
  audit: AuditLog,
  call: LoggedCall,
): Promise<{ values: Record<string, CapturedValue>; digests: string[] } | string> {
  const values: Record<string, CapturedValue> = {};
  const digests: string[] = [];
  for (const capture of call.intent.reversal?.captures ?? []) {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await audit.readCaptured(capture.hash);
    } catch (error) {
      return `its captured state could not be read: ${describeError(error)}`;
    }
    if (bytes === undefined)
      return `its captured state \`${capture.name}\` is gone (purged with the log's retention)`;
    try {
      const json = unsealCaptured(bytes);
      values[capture.name] = JSON.parse(new TextDecoder().decode(json)) as CapturedValue;
      digests.push(digestOf(json));
    } catch (error) {
      return `its captured state \`${capture.name}\` is not readable: ${describeError(error)}`;
    }
  }
  return { values, digests };
}

export function reversalCallOf(call: LoggedCall): ReversalCall {
  const { intent } = call;
  return {
    decisionId: intent.decisionId,
    sessionId: intent.sessionId,
    server: intent.tool.server,
    name: intent.tool.name,
    args: intent.args,
  };
}

function resourcesOf(compiled: CompiledReversal, call: ReversalCall): string[] {
  const resources = compiled.resources(call);
  return resources.ok ? resources.value : [];
}

/**
 * Calls of other sessions recorded after `afterSeq`, on the same server, that changed a resource a
 * call to undo changed: undoing would overwrite their change. Also where the next scan starts.
 */
export async function conflictsSince(
  audit: AuditLog,
  policy: PreparedPolicy,
  sessionId: string,
  afterSeq: number,
  planned: readonly PlannedCall[],
): Promise<{ conflicts: Conflict[]; lastSeq: number }> {
  const undoing = planned.filter((call) => call.status === 'undo' && call.resources.length > 0);
  const { calls, lastSeq } = await callsSince(audit, afterSeq);
  if (undoing.length === 0) return { conflicts: [], lastSeq };
  const ours = new Set([sessionId, rollbackSessionOf(sessionId)]);
  const conflicts: Conflict[] = [];
  for (const other of calls) {
    const { intent } = other;
    if (ours.has(intent.sessionId) || !mayHaveRun(other)) continue;
    const compiled = policy.reversalOf(intent.tool);
    if (compiled === undefined) continue;
    const touched = resourcesOf(compiled, reversalCallOf(other));
    for (const call of undoing) {
      if (call.tool.server !== intent.tool.server) continue;
      const resource = call.resources.find((mine) => touched.some((theirs) => sameResource(mine, theirs)));
      if (resource === undefined) continue;
      conflicts.push({
        decisionId: call.decisionId,
        resource,
        other: {
          decisionId: intent.decisionId,
          sessionId: intent.sessionId,
          agentId: intent.principal.agentId,
          tool: intent.tool,
          time: intent.time,
        },
      });
    }
  }
  return { conflicts, lastSeq };
}

/**
 * Do two resources (paths, names) name the same thing, or one contain the other? Compared as the
 * server might resolve them, erring towards a conflict: Unicode-equivalent spellings are one; a folder
 * covers what is under it; a relative path may be any path that ends with it; and a relative path the
 * server resolves in ways we cannot follow (`..` above its start, `~`) matches everything. Better a
 * conflict too many than a change overwritten without a word.
 */
export function sameResource(leftRaw: string, rightRaw: string): boolean {
  const left = leftRaw.normalize('NFC');
  const right = rightRaw.normalize('NFC');
  if (left === right) return true;
  if (unresolvable(left) || unresolvable(right)) return true;
  const under = (path: string, folder: string) =>
    path.startsWith(folder.endsWith('/') ? folder : `${folder}/`);
  if (under(left, right) || under(right, left)) return true;
  const relative = (path: string) => path.replace(/^(\.\/)+/, '');
  if (!left.startsWith('/') && right.startsWith('/')) return right.endsWith(`/${relative(left)}`);
  if (!right.startsWith('/') && left.startsWith('/')) return left.endsWith(`/${relative(right)}`);
  return relative(left) === relative(right);
}

/** A relative path that climbs out of where it starts, or names a home directory. */
function unresolvable(path: string): boolean {
  return !path.startsWith('/') && (path.startsWith('~') || path.split('/').includes('..'));
}
