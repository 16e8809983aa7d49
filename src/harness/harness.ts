/**
 * @module harness/harness
 * The one enforcement path every action takes:
 *
 *   describe -> decide -> record intent -> gate (approval) -> execute -> filter output -> record outcome
 *
 * Stage order is enforced by structure: each stage needs a token that only the previous stage can mint
 * (module-private classes), so nothing can execute a tool without a decision and a durable intent
 * record, or hand back a result without the output filters and the outcome record.
 *
 * The intent is recorded before the approval wait (not after, as ARCHITECTURE.md sketches): a held call
 * is then on record even if nobody ever answers or the process dies while it waits.
 */

import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Tracer } from '@opentelemetry/api';
import { findArgumentSources } from '../dataflow/argument-links.js';
import { LineageDataflow } from '../dataflow/lineage-dataflow.js';
import { type CallDecision, type DecisionState, decideCall, refusalDecision } from '../policy/decide-call.js';
import type { MonitorInput } from '../policy/monitor.js';
import { type MonitorStop, moreSevereStop } from '../policy/monitor-activity.js';
import { observeOutput } from '../policy/observe-output.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { RedactionPolicy } from '../policy/redaction-policy.js';
import type { CompiledReversal, ReversalCall } from '../policy/reversal.js';
import type { SessionProjection } from '../policy/session-projection.js';
import {
  type AuditLink,
  type CallIntentEvent,
  type CallOutcomeEvent,
  type Outcome,
  toolKeyOf,
} from '../spec/audit-event.js';
import { callHash } from '../spec/call-hash.js';
import type { DataflowView } from '../spec/dataflow-view.js';
import type { Decision, Diagnostic } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import type { BaselineSource, MonitorListener } from '../spec/monitor.js';
import type { ApprovalRecord } from '../spec/oversight.js';
import type { CallProvenanceRecord } from '../spec/provenance.js';
import type { CallRefusalCode, CallState, OutcomeReport } from '../spec/remote-call.js';
import type { Compensates, ReversalFacts } from '../spec/reversal.js';
import type { StandingCheck, StandingSubject } from '../spec/standing.js';
import {
  type CounterView,
  PrincipalSchema,
  type SessionStatus,
  type SessionView,
  type ToolCall,
  ToolCallSchema,
} from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { MemoryCounterStore } from '../store/memory-counter-store.js';
import type { ApprovalStore, CounterStore, CountRequest } from '../store/state-stores.js';
import { type CallObserver, tellObserver } from './call-observer.js';
import { CALL_ATTRIBUTES, type CallTrace, startCallTrace } from './call-tracing.js';
import {
  assumedFacts,
  type CaptureScreens,
  captureHashes,
  type TakenCaptures,
  takeCaptures,
  type UpstreamReader,
  uncaptured,
} from './capture.js';
import { compensationArgsForRecord, reservedSessionRefusal } from './compensation-calls.js';
import {
  DEFAULT_APPROVAL_EXPIRY_MS,
  DEFAULT_MAX_PENDING_APPROVALS_PER_AGENT,
  requestRecord,
  verdictOf,
} from './durable-approvals.js';
import {
  type CallRecords,
  findCallRecords,
  KeyedLock,
  keyedDecisionId,
  OpenCallMemory,
  stateOfOutcome,
  stateOfResult,
} from './open-calls.js';
import { PendingActivity } from './pending-activity.js';
import { MemorySessionRegistry, type SessionRecord, type SessionRegistry } from './session-registry.js';
import { SessionStates, type SessionStatesOptions } from './session-states.js';
import {
  type ApprovalHandler,
  type ApprovalVerdict,
  type CallerRef,
  type CallOptions,
  type CallProvenance,
  type CallRequest,
  type CallResult,
  type CompensationRequest,
  type OutputFilter,
  type PolicyHandle,
  type ToolExecutor,
  ToolNotStarted,
  type WaitingListener,
} from './types.js';
import { screenUpstreamText, screenUpstreamValue } from './upstream-screen.js';

export interface HarnessOptions {
  readonly policy: PolicyHandle;
  readonly audit: AuditLog;
  /** Session status (active, paused, killed) and ownership. */
  readonly sessions?: SessionRegistry;
  /**
   * The limit counters (store/state-stores): shared by every process on the store, so limits hold
   * across processes and restarts. Default: in this process's memory.
   */
  readonly counters?: CounterStore;
  /** How the session state read from the audit log is cached (harness/session-states). */
  readonly sessionCache?: Omit<SessionStatesOptions, 'audit' | 'clock'>;
  /** Who answers `approve` decisions. Without one, every held call is refused (fail closed). */
  readonly approvals?: ApprovalHandler;
  /** How long a held call waits for humans before it expires (= denied). Default 5 minutes. */
  readonly approvalTimeoutMs?: number;
  /** Applied in order to every tool result before the caller sees it. */
  readonly outputFilters?: readonly OutputFilter[];
  /** Epoch milliseconds; injectable for tests of time-based rules. */
  readonly clock?: () => number;
  /**
   * Calls a session may make at most, if set: a session past it is refused further calls. Unset by
   * default: a session's history lives in the audit log (decision 0020), not in memory.
   */
  readonly maxSessionHistory?: number;
  /**
   * Operator overrides of denials (one call each, bound to the call hash). Consulted only for policy
   * denials: a killed session, an unknown agent or a failure to decide is never overridable.
   */
  readonly overrides?: OverrideSource;
  /**
   * The standing of agents and credentials (suspension, revocation), consulted on every decision, while
   * a call waits for approval, and once more (read from the store) before an approved call is released.
   * A refusal is a deny with a diagnostic, never overridable. Without one, nothing is checked here
   * (an enforcement point that authenticates each call itself, or an embedding without identities).
   */
  readonly standing?: StandingCheck;
  /**
   * Where calls whose tool the caller runs itself (`open` / `complete`: the remote protocol, the
   * adapters) are held for humans: their approval requests, readable and decidable from any process.
   * Without it such a held call is refused (fail closed).
   */
  readonly heldCalls?: HeldCallOptions;
  /** Told about every call once it has ended (metrics); never changes a call. */
  readonly observer?: CallObserver;
  /**
   * Traces every call (a span per stage, harness/call-tracing) when given; the composition root passes
   * the tracer of telemetry/tracing when tracing is configured. Without one nothing is traced, at no cost.
   */
  readonly tracer?: Tracer;
  /**
   * For the benchmark that prices it (bench/provenance-links) and nothing else: `false` records no
   * argument provenance. No configuration sets it; every entry point records links.
   */
  readonly argumentLinks?: boolean;
  /**
   * The agents' baselines for the runtime monitor (the `monitor:` section of the policy), learned from
   * the audit log by the composition root (inspect/monitor-baselines). Without it the monitor's
   * relative bounds and one-call signals wait, as for an agent not yet learned; `above` still applies.
   */
  readonly baselines?: BaselineSource;
  /**
   * Told, once the intent is durable, about each call the monitor raised findings on: the composition
   * root alerts (webhook, metric) and carries out a pause or suspension through oversight, so that the
   * session's status and the agent's standing show it. The stop itself needs no listener: it is in the
   * log, and every process's next decision for the session reads it. Never changes a call.
   */
  readonly onMonitorFindings?: MonitorListener;
}

export interface HeldCallOptions {
  readonly store: Pick<ApprovalStore, 'create' | 'get' | 'list' | 'consume' | 'close' | 'onChange'>;
  /** The request expires after this long unless the holding rule asks for less. Default 15 minutes. */
  readonly defaultExpiryMs?: number;
  /** Most calls of one agent this process holds at once (default 20); one more is refused. */
  readonly maxPendingPerAgent?: number;
  /** Told about every new request once it is stored (webhooks, logs). Must not throw. */
  readonly onCreated?: (record: ApprovalRecord) => void;
}

/** Spends an operator's override for exactly this call, if one is waiting. */
export type OverrideSource = (
  callHash: string,
  now: Date,
) => Promise<{ by: string; reason: string } | undefined>;

const DEFAULT_APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** Handed to tools when the caller gave no signal: shared, because creating one per call is measurable. */
const NEVER_ABORTED = new AbortController().signal;

// Stage tokens. Not exported: only this module can create them, so stages cannot be skipped or reordered.
class DecidedCall {
  readonly #stage = 'decided';
  constructor(
    readonly decisionId: string,
    readonly call: ToolCall,
    readonly decision: Decision,
    /** The clock when the call was decided (epoch ms): the intent's time and the counters' time. */
    readonly decidedAt: number,
    readonly startedAt: number,
    readonly decisionLatencyUs: number,
    /** Whether limit counters were reserved for it (given back if it does not run). */
    readonly reserved: boolean,
    readonly links: readonly AuditLink[],
    /** Where the argument values came from, and the request the call declared (issue 18). */
    readonly provenance: CallProvenanceRecord | undefined,
    /** What the tool runs with (redacted arguments, see policy/screen-arguments) and the redaction in force. */
    readonly executeArgs: Record<string, unknown>,
    readonly redaction: RedactionPolicy | undefined,
    /** Whose standing the call depends on (checked again while it waits for approval). */
    readonly subject: StandingSubject,
    /** How the call is undone (its compiled reversal, the captures taken), or what it undoes. */
    readonly reversal: ReversalOfCall = {},
  ) {}
  get stage(): string {
    return this.#stage;
  }
  /** The same decision, with what the capture stage found. */
  withCaptures(taken: TakenCaptures, resourceKeys?: readonly string[]): DecidedCall {
    return new DecidedCall(
      this.decisionId,
      this.call,
      this.decision,
      this.decidedAt,
      this.startedAt,
      this.decisionLatencyUs,
      this.reserved,
      this.links,
      this.provenance,
      this.executeArgs,
      this.redaction,
      this.subject,
      { ...this.reversal, taken, ...(resourceKeys !== undefined ? { resourceKeys } : {}) },
    );
  }
}

/** What a decided call carries about reversibility (issue 16). */
interface ReversalOfCall {
  /** The tool's compiled reversal, from the policy that decided the call. */
  readonly compiled?: CompiledReversal;
  /** What the capture stage found (recorded with the intent). */
  readonly taken?: TakenCaptures;
  /** The call is a rollback's compensation of this one. */
  readonly compensates?: Compensates;
  /** The resources it changes, as lock keys (held from its capture until its outcome is recorded). */
  readonly resourceKeys?: readonly string[];
}

/** How `decide` is asked: beyond the request, what the enforcement point already knows. */
interface DecideOptions {
  readonly decisionId?: string;
  /** The decision's reversibility facts (default: what can be assumed before captures). */
  readonly facts?: ReversalFacts;
  /** Can the captures of this call be taken here (an upstream to read)? */
  readonly canCapture?: boolean;
  /** A refusal of the enforcement point: the call is denied with it, and still screened. */
  readonly refusal?: Diagnostic;
  /** A rollback's compensation: on the operator's authority (no agent standing), what it undoes. */
  readonly compensates?: Compensates;
  /** What the tool runs with, when it is not what is decided and recorded (a compensation's raw values). */
  readonly executeArgs?: Record<string, unknown>;
}

class RecordedIntent {
  readonly #stage = 'recorded';
  constructor(
    readonly decided: DecidedCall,
    readonly intentId: string,
  ) {}
  get stage(): string {
    return this.#stage;
  }
}

class ClearedCall {
  readonly #stage = 'cleared';
  constructor(
    readonly recorded: RecordedIntent,
    readonly approval: ApprovalVerdict | undefined,
  ) {}
  get stage(): string {
    return this.#stage;
  }
}

interface Refusal {
  readonly outcome: Extract<Outcome, 'denied' | 'expired' | 'cancelled' | 'abandoned'>;
  readonly reason: string;
  readonly approval?: ApprovalVerdict;
}

/** A call this process opened for a caller that runs the tool itself (harness/open-calls). */
interface OpenCall {
  readonly openedAt: number;
  readonly recorded: RecordedIntent;
  /** Set once it may run (allowed, approved, overridden); `readyAt` is when (the tool's start). */
  readonly cleared?: ClearedCall;
  readonly readyAt?: number;
  forget(): void;
}

/** What `open`, `get`, `wait` and `complete` answer: the call's state, or why the request is refused. */
export type CallAnswer =
  | { readonly ok: true; readonly state: CallState }
  | {
      readonly ok: false;
      /** not_found: no such call of this agent in this session; call_conflict: a call id reused for
       * another call; not_ready: the call is not ready for an outcome; state_unavailable: the store failed. */
      readonly code: CallRefusalCode;
      readonly message: string;
      readonly state?: CallState;
    };

/** How often a waiting caller re-reads a held call, in case a change notification was missed. */
const HELD_RECHECK_MS = 2_000;
const OUTCOME_NOT_RECORDED = 'outcome could not be recorded';

/**
 * What running the tool gave; `startedAt` is when it was started (epoch ms), absent for a call whose
 * executor gave up before it started the tool (`ToolNotStarted`).
 */
type Execution =
  | { readonly ok: true; readonly output: unknown; readonly startedAt: number }
  | { readonly ok: false; readonly error: string; readonly outcome: Outcome; readonly startedAt?: number };

export class Harness {
  readonly sessions: SessionRegistry;
  /** Calls under way (their promises never reject): what `settled()` waits for. */
  private readonly running = new Set<Promise<CallResult>>();
  private readonly counters: CounterStore;
  /** The session state decisions read: projections of the audit log (harness/session-states). */
  private readonly states: SessionStates;
  /** Requests declared for a session (`declareUserInput`) that no intent record carries yet. */
  private readonly undeclaredRequests = new Map<string, string>();
  private readonly policy: PolicyHandle;
  private readonly audit: AuditLog;
  private readonly approvals: ApprovalHandler | undefined;
  private readonly approvalTimeoutMs: number;
  private readonly outputFilters: readonly OutputFilter[];
  private readonly clock: () => number;
  private readonly maxSessionHistory: number | undefined;
  private readonly overrides: OverrideSource | undefined;
  private readonly standing: StandingCheck | undefined;
  private readonly heldCalls: HeldCallOptions | undefined;
  private readonly tracer: Tracer | undefined;
  private readonly argumentLinks: boolean;
  private readonly baselines: BaselineSource | undefined;
  private readonly pendingActivity: PendingActivity;
  private readonly onMonitorFindings: MonitorListener | undefined;
  /** Calls opened here whose tool the caller runs (decision 0021); the store holds their truth. */
  private readonly openCalls = new OpenCallMemory<OpenCall>();
  private readonly callLocks = new KeyedLock();
  private readonly resourceLocks = new KeyedLock();
  private unwatchOpenCallStanding: (() => void) | undefined;
  private unwatchOpenCallRequests: (() => void) | undefined;
  private readonly observer: CallObserver | undefined;

  constructor(options: HarnessOptions) {
    if (options.policy?.current === undefined) throw new TypeError('harness needs a policy');
    if (options.audit === undefined) throw new TypeError('harness needs an audit log');
    const timeout = options.approvalTimeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS;
    if (!(timeout > 0)) throw new RangeError(`approvalTimeoutMs must be positive, got \`${timeout}\``);
    this.policy = options.policy;
    this.audit = options.audit;
    this.sessions = options.sessions ?? new MemorySessionRegistry();
    this.counters = options.counters ?? new MemoryCounterStore();
    this.approvals = options.approvals;
    this.approvalTimeoutMs = timeout;
    this.outputFilters = options.outputFilters ?? [];
    this.clock = options.clock ?? Date.now;
    this.states = new SessionStates({ ...options.sessionCache, audit: options.audit, clock: this.clock });
    this.maxSessionHistory = options.maxSessionHistory;
    this.overrides = options.overrides;
    this.standing = options.standing;
    this.heldCalls = options.heldCalls;
    this.observer = options.observer;
    this.tracer = options.tracer;
    this.argumentLinks = options.argumentLinks !== false;
    this.baselines = options.baselines;
    this.pendingActivity = new PendingActivity(this.clock);
    this.onMonitorFindings = options.onMonitorFindings;
  }

  /**
   * Declares the user's own request for a session as trusted input: values in it (addresses, accounts,
   * names) count as given by the user, not derived from tool output. Adapters that see the prompt call
   * this; in gateway mode nobody does, and values never seen in any output do not count as derived.
   * It takes effect with the session's next call that passes the session's owner and standing checks,
   * which carries it onto the record (its intent's `provenance.request`, `via: session`), from where
   * every process rebuilds it. Until then it changes nothing: a call refused in the session (another
   * agent's) neither applies nor takes it. For code that runs in this process only (replay, adapters);
   * agents declare through their calls (`trustedInput`, `sessionRequest`).
   */
  async declareUserInput(sessionId: string, text: string): Promise<void> {
    if (text.length > 0) this.undeclaredRequests.set(sessionId, text);
  }

  /**
   * Replay and backtesting only: the output a refused call had in a recorded trace. The trace shows
   * the agent saw it, so later decisions must know where its values came from. Kept like declared
   * user input.
   */
  async recordObservedOutput(
    sessionId: string,
    decisionId: string,
    tool: ToolCall['tool'],
    args: Readonly<Record<string, unknown>>,
    output: unknown,
  ): Promise<void> {
    const projection = await this.projectionOf(sessionId);
    observeOutput(projection.policy, projection.dataflow, { decisionId, tool, args, sessionId }, output);
  }

  /** What a session has seen so far (labels, value origins), as the audit log says now; read-only. */
  async dataflow(sessionId: string): Promise<DataflowView> {
    return (await this.projectionOf(sessionId)).dataflow;
  }

  private async projectionOf(sessionId: string): Promise<SessionProjection> {
    const [projection] = await this.states.read(this.policy.current, [sessionId]);
    return projection as SessionProjection;
  }

  /** Runs one tool call through every stage. Never throws; the result says what happened. */
  call(request: CallRequest, executor: ToolExecutor, options: CallOptions = {}): Promise<CallResult> {
    const call = this.runCall(request, executor, options);
    this.running.add(call);
    // both ways: a `finally` chain would leave a rejection of its own unhandled
    const done = () => this.running.delete(call);
    call.then(done, done);
    return call;
  }

  /**
   * Runs a rollback's compensation (rollback/) through every stage: decided by the policy (which sees
   * `context.rollback`), recorded with what it undoes and a provenance link to it, executed, filtered,
   * recorded. It runs on the authority of the operator who asked for the rollback, on behalf of the
   * original agent: no agent's standing applies (a suspended agent's actions can still be undone),
   * and nothing is captured (an undo is not undone in turn).
   */
  compensate(
    request: CompensationRequest,
    executor: ToolExecutor,
    options: Omit<CallOptions, 'readUpstream'> = {},
  ): Promise<CallResult> {
    const { compensates } = request;
    const trace =
      this.tracer &&
      startCallTrace(this.tracer, 'reins.call', options.traceContext, {
        [CALL_ATTRIBUTES.kind]: 'compensation',
      });
    trace?.stage('decide');
    const call = this.decide(
      {
        // the rollback session stands on its own: a killed parent must not stop the undo
        principal: { ...request.principal, parentSessions: [] },
        sessionId: request.sessionId,
        tool: request.tool,
        // restored content is captured state, kept apart from the log: recorded screened and summarised,
        // and not screened as input (the tool must get the bytes back as they were, secrets and all)
        args: compensationArgsForRecord(this.policy.current, request.tool, request.args, request.undoneArgs),
        context: {
          rollback: { id: compensates.rollbackId, by: compensates.by, undoes: compensates.decisionId },
        },
        provenance: { inputs: [compensates.decisionId] },
      },
      // an undo puts back what was: to a reversible-or-approved rule it is reversible (it is not
      // captured in turn, and records no reversal of its own, only what it undoes)
      { compensates, executeArgs: request.args, facts: { kind: 'reversible', reversible: true } },
    ).then((decided) => this.runDecided(decided, executor, options, trace));
    this.running.add(call);
    const done = () => this.running.delete(call);
    call.then(done, done);
    return call;
  }

  /**
   * Resolves when every call started so far has ended, its outcome on record: a process that is
   * shutting down closes its stores after this, not before the last record of a call it aborted.
   */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  // ---- Calls whose tool the caller runs itself (decision 0021) ----

  /**
   * Opens a call whose tool the caller runs itself (the remote protocol, the adapters): decided, and
   * its intent recorded, like any call. A denial's outcome is recorded at once; a held call becomes an
   * approval request in the store. `ready` hands back the arguments to run the tool with; the caller
   * then reports what it did with `complete`. With a `callId` (the framework's tool-call id), opening
   * the same call again — same agent, session and id — finds the first one, and only with the same
   * arguments.
   */
  open(request: CallRequest, callId?: string): Promise<CallAnswer> {
    if (this.tracer === undefined) return this.openCall(request, callId, undefined);
    return this.tracedAnswer(this.tracer, 'reins.open', (trace) => this.openCall(request, callId, trace));
  }

  /**
   * `open` or `complete`, traced: the caller's trace context is the active one (gateway/remote-calls
   * runs the request within it; an adapter in the agent's process has its own).
   */
  private async tracedAnswer(
    tracer: Tracer,
    name: string,
    task: (trace: CallTrace) => Promise<CallAnswer>,
  ): Promise<CallAnswer> {
    const trace = startCallTrace(tracer, name, undefined) as CallTrace;
    try {
      return endTrace(trace, await task(trace));
    } catch (error) {
      trace.end(undefined, 'failed');
      throw error;
    }
  }

  private async openCall(
    request: CallRequest,
    callId: string | undefined,
    trace: CallTrace | undefined,
  ): Promise<CallAnswer> {
    const caller = callerOfRequest(request);
    if (callId === undefined || caller === undefined)
      return this.guarded(() => this.openNew(request, randomUUID(), undefined, trace));
    const id = keyedDecisionId(caller.principal.agentId, caller.sessionId, callId);
    return this.callLocks.run(id, () =>
      this.guarded(async () => {
        // the first to claim the id opens the call, in whichever process (no read of the log)
        if (await this.claimOpen(id))
          return this.openNew(request, id, () => this.releaseClaim(openClaimOf(id)), trace);
        const records = await this.readCall(caller, id);
        if (records === undefined) {
          return refusedAnswer(
            'call_conflict',
            `call id \`${callId}\` is being opened by another request (or its opening failed): use a new id`,
          );
        }
        if (!this.sameCall(records.intent, request)) {
          return refusedAnswer(
            'call_conflict',
            `call id \`${callId}\` was already used for a different call in this session: use a new id`,
          );
        }
        return { ok: true, state: await this.stateOf(caller, records) };
      }),
    );
  }

  /** Where a call opened earlier stands; a held one that was approved is released here (once). */
  get(caller: CallerRef, id: string): Promise<CallAnswer> {
    return this.callLocks.run(id, () =>
      this.guarded(async () => {
        const records = await this.readCall(caller, id);
        if (records === undefined) return notFound(id);
        return { ok: true, state: await this.stateOf(caller, records) };
      }),
    );
  }

  /**
   * Waits while the call is held, up to `timeoutMs`: woken by its approval request changing (in any
   * process), its session's status, the agents' standing, its expiry, and a re-read every 2 s.
   */
  async wait(caller: CallerRef, id: string, timeoutMs: number, signal?: AbortSignal): Promise<CallAnswer> {
    const deadline = this.clock() + Math.max(0, timeoutMs);
    for (;;) {
      const answer = await this.get(caller, id);
      const left = deadline - this.clock();
      if (!answer.ok || answer.state.status !== 'held' || left <= 0 || signal?.aborted) return answer;
      const expiresAt = Date.parse(answer.state.expiresAt ?? '');
      const expiresIn = Number.isFinite(expiresAt) ? expiresAt - this.clock() : HELD_RECHECK_MS;
      await this.nextChange(
        id,
        caller.sessionId,
        Math.min(left, HELD_RECHECK_MS, Math.max(expiresIn + 5, 5)),
        signal,
      );
    }
  }

  /**
   * The outcome of a `ready` call, as the caller ran it: screened and filtered like any result and
   * recorded (once, whichever process is told); the answer is what the caller may use. Anything but a
   * ready call is refused: a denied, held, or completed one.
   */
  complete(caller: CallerRef, id: string, report: OutcomeReport): Promise<CallAnswer> {
    if (this.tracer === undefined) return this.completeCall(caller, id, report, undefined);
    return this.tracedAnswer(this.tracer, 'reins.complete', (trace) =>
      this.completeCall(caller, id, report, trace),
    );
  }

  private completeCall(
    caller: CallerRef,
    id: string,
    report: OutcomeReport,
    trace: CallTrace | undefined,
  ): Promise<CallAnswer> {
    return this.callLocks.run(id, () =>
      this.guarded(async () => {
        // a call this process cleared needs no read of the log: the claim decides who ends it
        const known = this.openCalls.get(id);
        const mine = known?.cleared !== undefined && ownsCall(caller, known.recorded.decided.call);
        const local =
          mine && this.lineageStatus(known.recorded.decided.call) === 'active' ? known : undefined;
        if (local?.cleared !== undefined && (await this.claimEnd(id)))
          return this.finish(local, local.cleared, report, trace);
        const records = await this.readCall(caller, id);
        if (records === undefined) return notFound(id);
        const state = await this.stateOf(caller, records);
        if (state.status !== 'ready') return notReady(state);
        const cleared = this.openCalls.get(id);
        if (cleared?.cleared === undefined || !(await this.claimEnd(id)))
          return refusedAnswer('not_ready', `call \`${id}\` is being ended by another process`, state);
        return this.finish(cleared, cleared.cleared, report, trace);
      }),
    );
  }

  /**
   * The agent withdraws a call it will not run (its framework's user refused it, its run ended): a held
   * call's approval request is closed and a ready call is ended, both recorded `cancelled`, so no call
   * is left without an outcome. A call that already ended is refused (`not_ready`).
   */
  cancel(caller: CallerRef, id: string, reason: string): Promise<CallAnswer> {
    return this.callLocks.run(id, () =>
      this.guarded(async () => {
        const records = await this.readCall(caller, id);
        if (records === undefined) return notFound(id);
        const state = await this.stateOf(caller, records);
        if (state.status !== 'ready' && state.status !== 'held') return notReady(state);
        const local = this.openCalls.get(id);
        const recorded = local?.recorded ?? this.reconstruct(records.intent);
        if (state.status === 'held')
          await this.heldCalls?.store.close(id, 'cancelled', new Date(this.clock()));
        if (!(await this.claimEnd(id)))
          return refusedAnswer('not_ready', `call \`${id}\` is being ended by another process`, state);
        // a held call never reached the agent: what it reserved is given back. A ready one may have
        // run whatever the agent says, so its reservation stays (no budget regained by withdrawing)
        if (state.status === 'held') await this.release(recorded.decided);
        const said =
          state.status === 'held' ? 'before it was released' : 'after it was released (it may have run)';
        const result = await this.recordOutcome(recorded, {
          outcome: 'cancelled',
          reason: `withdrawn by the agent ${said}${reason ? `: ${reason}` : ''}`,
        });
        this.openCalls.remove(id);
        return { ok: true, state: stateOfResult(id, recorded.decided, result) };
      }),
    );
  }

  /** The reported outcome of a claimed call: screened, filtered and recorded like any result. */
  private async finish(
    open: OpenCall,
    cleared: ClearedCall,
    report: OutcomeReport,
    trace: CallTrace | undefined,
  ): Promise<CallAnswer> {
    const { decided } = open.recorded;
    const id = decided.decisionId;
    trace?.decided(id, decided.call, decided.decision);
    const startedAt = open.readyAt ?? this.clock();
    const execution: Execution = report.ok
      ? { ok: true, output: report.result, startedAt }
      : { ok: false, error: `tool failed: ${report.error}`, outcome: 'error', startedAt };
    trace?.stage('filter-output');
    const filtered = await this.filterOutput(cleared, execution);
    trace?.stage('record-outcome');
    const result = await this.recordOutcome(open.recorded, filtered, cleared.approval, undefined, true);
    if (result.status === 'error' && result.error.startsWith(OUTCOME_NOT_RECORDED))
      await this.releaseClaim(endClaimOf(id));
    this.openCalls.remove(id);
    return { ok: true, state: stateOfResult(id, open.recorded.decided, result) };
  }

  /**
   * Ends the held calls whose approval request expired more than `graceMs` ago and that nobody ended:
   * their process died, or no one asked about them since. Whichever process runs it records each
   * once (the claim); a live process ends its own at expiry, before the grace is over.
   */
  async endExpiredHeldCalls(graceMs = 60_000): Promise<number> {
    const store = this.heldCalls?.store;
    if (store === undefined) return 0;
    const cutoff = this.clock() - graceMs;
    let ended = 0;
    for (const request of await store.list({ status: 'pending', limit: 1_000 })) {
      if (Date.parse(request.expiresAt) > cutoff) continue;
      const principal = PrincipalSchema.parse({ agentId: request.agentId, delegatedBy: request.delegatedBy });
      const answer = await this.get({ principal, sessionId: request.sessionId }, request.id);
      if (answer.ok && answer.state.status === 'denied') ended++;
      else if (!answer.ok && answer.code === 'not_found')
        await store.close(request.id, 'expired', new Date(this.clock()));
    }
    return ended;
  }

  /** Reading the store failed: the caller is told so, nothing is assumed (fail closed). */
  private async guarded(task: () => Promise<CallAnswer>): Promise<CallAnswer> {
    try {
      return await task();
    } catch (error) {
      return refusedAnswer(
        'state_unavailable',
        `the call's state could not be read: ${describeError(error)}`,
      );
    }
  }

  /** Decides and records a new call; `unrecorded` runs if no intent could be recorded (the id is free again). */
  private async openNew(
    request: CallRequest,
    id: string,
    unrecorded: (() => Promise<void>) | undefined,
    trace: CallTrace | undefined,
  ): Promise<CallAnswer> {
    trace?.stage('decide');
    // the agent runs the tool: no upstream to capture its state from here
    const first = await this.decide(request, { decisionId: id, canCapture: false });
    const decided =
      first instanceof DecidedCall ? first.withCaptures(uncaptured(first.reversal.compiled, false)) : first;
    trace?.decided(id, decided instanceof DecidedCall ? decided.call : undefined, decided.decision);
    if (!(decided instanceof DecidedCall)) {
      await unrecorded?.();
      return { ok: true, state: stateOfResult(id, undefined, decided) };
    }
    trace?.stage('record-intent');
    const recorded = await this.recordIntent(decided);
    if (!(recorded instanceof RecordedIntent)) {
      await unrecorded?.();
      return { ok: true, state: stateOfResult(id, decided, recorded) };
    }
    const { effect } = decided.decision;
    trace?.stage('gate');
    if (effect === 'allow')
      return { ok: true, state: this.ready(recorded, new ClearedCall(recorded, undefined)) };
    if (effect === 'approve') return { ok: true, state: await this.hold(recorded) };
    const cleared = await this.overridden(recorded);
    if (!(cleared instanceof ClearedCall)) return { ok: true, state: await this.endOpen(recorded, cleared) };
    // the override is spent here: the store keeps that this call may run, for every process
    await this.claim(overrideClaimOf(id)).catch(() => false);
    return { ok: true, state: this.ready(recorded, cleared) };
  }

  /** Cleared to run: remembered here, and the arguments handed to the caller. */
  private ready(recorded: RecordedIntent, cleared: ClearedCall): CallState {
    const now = this.clock();
    const known = this.openCalls.get(recorded.decided.decisionId);
    if (known?.cleared === undefined) this.remember(recorded, cleared, now);
    const { decided } = recorded;
    return {
      ...callStateBase(decided.decisionId, decided),
      status: 'ready',
      args: decided.executeArgs,
      callHash: callHash(decided.call),
    };
  }

  /** A held call: its approval request goes to the store, decidable from any process. */
  private async hold(recorded: RecordedIntent): Promise<CallState> {
    const { decided } = recorded;
    const held = this.heldCalls;
    const reasons = decided.decision.reasons.join('; ');
    if (held === undefined)
      return this.endOpen(recorded, {
        outcome: 'denied',
        reason: `approval required (${reasons}) but no approver is configured`,
      });
    const agentId = decided.call.principal.agentId;
    const max = held.maxPendingPerAgent ?? DEFAULT_MAX_PENDING_APPROVALS_PER_AGENT;
    if (this.heldBy(agentId) >= max) {
      const reason = `agent \`${agentId}\` already has ${max} calls waiting for approval (limit \`limits.maxPendingApprovalsPerAgent\`)`;
      return this.endOpen(recorded, { outcome: 'denied', reason: `approval failed: ${reason}` });
    }
    const hash = callHash(decided.call);
    const request = {
      decisionId: decided.decisionId,
      call: decided.call,
      decision: decided.decision,
      callHash: hash,
    };
    const record = requestRecord(request, this.clock(), held.defaultExpiryMs ?? DEFAULT_APPROVAL_EXPIRY_MS);
    try {
      await held.store.create(record);
    } catch (error) {
      const reason = `approval failed: cannot store the approval request: ${describeError(error)}`;
      return this.endOpen(recorded, { outcome: 'denied', reason });
    }
    try {
      held.onCreated?.(record);
    } catch {
      // a notifier must not affect the held call
    }
    this.remember(recorded, undefined, this.clock(), Date.parse(record.expiresAt));
    return {
      ...callStateBase(decided.decisionId, decided),
      status: 'held',
      reason: reasons,
      expiresAt: record.expiresAt,
      callHash: hash,
    };
  }

  /** Ends an open call without running it: its reservation given back, its outcome recorded. */
  private endOpen(recorded: RecordedIntent, refusal: Refusal): Promise<CallState> {
    // claimed like every other ending: another process asked about the call may be ending it too
    return this.endRecorded(recorded, undefined, refusal.outcome, refusal.reason, refusal.approval);
  }

  /** The call's intent and outcome, if it is a call of this agent in this session; else undefined. */
  private async readCall(
    caller: CallerRef,
    id: string,
  ): Promise<(CallRecords & { intent: CallIntentEvent }) | undefined> {
    const records = await findCallRecords(this.audit, caller.sessionId, id);
    const { intent } = records;
    if (intent === undefined || intent.principal.agentId !== caller.principal.agentId) return undefined;
    return { ...records, intent };
  }

  /** Whether a request is the recorded call again (as recorded: redacted the same way). */
  private sameCall(intent: CallIntentEvent, request: CallRequest): boolean {
    const { provenance: _p, trustedInput: _t, sessionRequest: _s, credential: _c, ...input } = request;
    const parsed = ToolCallSchema.safeParse(input);
    if (!parsed.success) return false;
    const now = this.clock();
    const session: SessionView = {
      id: parsed.data.sessionId,
      status: 'active',
      startedAt: now,
      history: [],
      labels: [],
    };
    const recorded = decideCall(this.policy.current, {
      call: parsed.data,
      now,
      state: { session, counters: NO_COUNTERS },
      refusal: undefined,
    }).call;
    return callHash(recorded) === callHash(callOfIntent(intent));
  }

  /**
   * Where an open call stands, from the store: its outcome if it has one; an allowed (or overridden)
   * call is ready; a held one is as its approval request says — released here once approved, or
   * ended (its outcome recorded) once refused, expired, or its session or credential stopped.
   */
  private async stateOf(
    caller: CallerRef,
    records: CallRecords & { intent: CallIntentEvent },
  ): Promise<CallState> {
    const { intent, outcome } = records;
    const id = intent.decisionId;
    if (outcome !== undefined) {
      this.openCalls.remove(id);
      return stateOfOutcome(intent, outcome);
    }
    const local = this.openCalls.get(id);
    const recorded = local?.recorded ?? this.reconstruct(intent);
    const { call, subject } = recorded.decided;
    if (this.lineageStatus(call) === 'killed') {
      if (local?.cleared === undefined)
        await this.heldCalls?.store.close(id, 'cancelled', new Date(this.clock()));
      return this.endRecorded(
        recorded,
        local,
        'cancelled',
        `session \`${this.stoppedSession(call)}\` was killed`,
      );
    }
    // the agents' standing as it is now (an agent suspended while no process remembered the call)
    const lost = this.standingRefusal({ agentIds: subject.agentIds });
    if (lost !== undefined) {
      if (local?.cleared === undefined)
        await this.heldCalls?.store.close(id, 'cancelled', new Date(this.clock()));
      return this.endRecorded(recorded, local, 'denied', lost.message);
    }
    const effect = intent.decision.effect;
    if (effect === 'allow')
      return this.ready(recorded, local?.cleared ?? new ClearedCall(recorded, undefined));
    if (effect === 'deny') {
      if (local?.cleared !== undefined) return this.ready(recorded, local.cleared);
      if (await this.wasOverridden(id))
        return this.ready(recorded, new ClearedCall(recorded, { approved: true, reason: 'override' }));
      return {
        ...callStateBase(id, recorded.decided),
        status: 'denied',
        reason: intent.decision.reasons.join('; '),
      };
    }
    if (local?.cleared !== undefined) return this.ready(recorded, local.cleared);
    return this.heldState(caller, recorded, local);
  }

  private async heldState(
    caller: CallerRef,
    recorded: RecordedIntent,
    local: OpenCall | undefined,
  ): Promise<CallState> {
    const { decided } = recorded;
    const id = decided.decisionId;
    const store = this.heldCalls?.store;
    const request = store === undefined ? undefined : await store.get(id);
    if (store === undefined || request === undefined)
      return this.endRecorded(recorded, local, 'denied', 'its approval request is not in the store');
    const now = this.clock();
    if (request.status === 'pending') {
      if (Date.parse(request.expiresAt) <= now) {
        await store.close(id, 'expired', new Date(now));
        return this.endRecorded(recorded, local, 'expired', `approval expired at ${request.expiresAt}`);
      }
      const lost = this.standingRefusal(subjectOf(caller));
      if (lost !== undefined) {
        await store.close(id, 'cancelled', new Date(now));
        return this.endRecorded(recorded, local, 'denied', `${lost.message}: the held call is refused`);
      }
      if (local === undefined) this.remember(recorded, undefined, now, Date.parse(request.expiresAt));
      return {
        ...callStateBase(id, decided),
        status: 'held',
        reason: decided.decision.reasons.join('; '),
        expiresAt: request.expiresAt,
        callHash: callHash(decided.call),
      };
    }
    if (request.status === 'denied')
      return this.endRecorded(recorded, local, 'denied', refusedBy(request), verdictOf(request, false));
    if (request.status === 'expired' || request.status === 'cancelled')
      return this.endRecorded(recorded, local, request.status, `the approval request was ${request.status}`);
    // approved (spent here, bound to the call as recorded) or already spent for it
    if (request.status === 'approved' && !(await store.consume(id, callHash(decided.call), new Date(now)))) {
      const again = await store.get(id);
      if (again?.status !== 'used')
        return this.endRecorded(
          recorded,
          local,
          'denied',
          'the approval was already used or no longer matches this call',
        );
    }
    const verdict = verdictOf(request, true);
    const refusal =
      (await this.freshStandingRefusal(subjectOf(caller))) ??
      (await this.freshStandingRefusal(decided.subject));
    if (refusal !== undefined)
      return this.endRecorded(
        recorded,
        local,
        'denied',
        `${refusal.message}: the approved call is refused`,
        verdict,
      );
    const status = this.lineageStatus(decided.call);
    if (status !== 'active')
      return this.endRecorded(
        recorded,
        local,
        'cancelled',
        `session \`${decided.call.sessionId}\` is ${status}`,
        verdict,
      );
    return this.ready(recorded, new ClearedCall(recorded, verdict));
  }

  /**
   * Ends an open call that is not running here (refused, expired, its session or credential stopped):
   * its outcome is recorded once, by whichever process claims it first (the store's counters).
   */
  private async endRecorded(
    recorded: RecordedIntent,
    local: OpenCall | undefined,
    outcome: Refusal['outcome'],
    reason: string,
    approval?: ApprovalVerdict,
  ): Promise<CallState> {
    const { decided } = recorded;
    const id = decided.decisionId;
    this.openCalls.remove(id);
    const running = local?.cleared !== undefined;
    const said = running
      ? `${reason} while the tool ran (it may have taken effect): its outcome is not accepted`
      : reason;
    // a call whose tool may be running was not refused: it was cancelled under way
    const ended: Refusal['outcome'] = running ? 'cancelled' : outcome;
    if (!(await this.claimEnd(id))) {
      return { ...callStateBase(id, decided), status: 'denied', outcome: ended, reason: said };
    }
    if (!running) await this.release(decided);
    const result = await this.recordOutcome(
      recorded,
      approval ? { outcome: ended, reason: said, approval } : { outcome: ended, reason: said },
    );
    return stateOfResult(id, decided, result);
  }

  /** Claims the right to record a call's outcome, across processes: true for the first to ask. */
  private async claimEnd(id: string): Promise<boolean> {
    try {
      return await this.claim(endClaimOf(id));
    } catch {
      return false;
    }
  }

  /** Claims a call id for the call about to be opened (a store failure is thrown: fail closed). */
  private claimOpen(id: string): Promise<boolean> {
    return this.claim(openClaimOf(id));
  }

  /**
   * One unit under a key with a bound of one, in the shared counter store: atomic across processes,
   * so exactly one claimant gets it. Kept at least a day (counters are pruned outside every window).
   */
  private async claim(key: string): Promise<boolean> {
    const request: CountRequest = { key, amount: 1, max: 1, sinceMs: 0 };
    return (await this.counters.reserve(key, this.clock(), [request])).ok;
  }

  /** Whether an operator's override let this denied call run (claimed when it was spent, any process). */
  private async wasOverridden(id: string): Promise<boolean> {
    const totals = await this.counters.totals([{ key: overrideClaimOf(id), sinceMs: 0 }]);
    return (totals.get(overrideClaimOf(id)) ?? 0) > 0;
  }

  private async releaseClaim(key: string): Promise<void> {
    await this.counters.release(key).catch(() => {});
  }

  /** The recorded call as a stage token, for a call this process did not open (or no longer remembers). */
  private reconstruct(intent: CallIntentEvent): RecordedIntent {
    const policy = this.policy.current;
    const facts = policy.toolFacts(intent.tool);
    const decision: Decision = {
      effect: intent.decision.effect,
      matchedRules: intent.decision.matchedRules,
      reasons: intent.decision.reasons,
      decidedBy: intent.decision.decidedBy ?? [],
      obligations: [],
      policyHash: intent.decision.policyHash,
      diagnostics: intent.decision.diagnostics as Diagnostic[],
      ...(facts !== undefined ? { tool: facts } : {}),
    };
    const decidedAt = Date.parse(intent.time);
    const decided = new DecidedCall(
      intent.decisionId,
      callOfIntent(intent),
      decision,
      decidedAt,
      performance.now() - Math.max(0, this.clock() - decidedAt),
      intent.decisionLatencyUs,
      false, // a reservation another process made is not given back from here (budget lost, never exceeded)
      [],
      intent.provenance,
      intent.args,
      policy.redaction,
      { agentIds: [intent.principal.agentId, ...intent.principal.delegatedBy] },
    );
    return new RecordedIntent(decided, intent.id);
  }

  /** Remembers a call this process opened: ended at once if its session is killed or its standing lost. */
  private remember(
    recorded: RecordedIntent,
    cleared: ClearedCall | undefined,
    now: number,
    expiresAt?: number,
  ): void {
    const { decisionId: id, call } = recorded.decided;
    const cleanups: (() => void)[] = [];
    const entry: OpenCall = {
      openedAt: now,
      recorded,
      ...(cleared !== undefined ? { cleared, readyAt: now } : {}),
      forget: () => {
        for (const cleanup of cleanups) cleanup();
      },
    };
    const caller: CallerRef = { principal: call.principal, sessionId: call.sessionId };
    if (expiresAt !== undefined) {
      const timer = setTimeout(() => void this.get(caller, id), Math.max(0, expiresAt - now) + 10);
      timer.unref();
      cleanups.push(() => clearTimeout(timer));
    }
    for (const sessionId of lineageOf(call)) {
      const unwatch = this.sessions.watch?.(sessionId, (status) => {
        if (status === 'killed') void this.get(caller, id);
      });
      if (unwatch) cleanups.push(unwatch);
    }
    this.openCalls.set(id, entry, now);
    this.watchOpenCalls();
  }

  /** Once: a lost standing ends every open call of this process that depends on it. */
  private watchOpenCalls(): void {
    // a human's vote on a call held here ends (or releases) it at once, not when the agent next asks
    this.unwatchOpenCallRequests ??= this.heldCalls?.store.onChange((record) => {
      const open = this.openCalls.get(record.id);
      if (open === undefined || open.cleared !== undefined || record.status === 'pending') return;
      const { call } = open.recorded.decided;
      void this.get({ principal: call.principal, sessionId: call.sessionId }, record.id);
    });
    if (this.standing === undefined || this.unwatchOpenCallStanding !== undefined) return;
    this.unwatchOpenCallStanding = this.standing.onChange(() => {
      for (const [id, open] of [...this.openCalls.entries()]) {
        const lost = this.standingRefusal(open.recorded.decided.subject);
        if (lost === undefined) continue;
        void this.callLocks.run(id, () =>
          this.guarded(async () => {
            const still = this.openCalls.get(id);
            if (still === undefined) return notFound(id);
            if (!still.cleared) await this.heldCalls?.store.close(id, 'cancelled', new Date(this.clock()));
            return { ok: true, state: await this.endRecorded(still.recorded, still, 'denied', lost.message) };
          }),
        );
      }
    });
  }

  /**
   * The status of the call's session as it stands with the sessions it was delegated from: a session
   * inside a stopped one is stopped too (killing an orchestrator's session stops its subagents').
   */
  private lineageStatus(call: ToolCall): SessionStatus {
    let status: SessionStatus = 'active';
    for (const sessionId of lineageOf(call)) status = worstStatus(status, this.sessions.statusOf(sessionId));
    return status;
  }

  /** The session of the lineage that stopped the call (its own, or one it was delegated from). */
  private stoppedSession(call: ToolCall): string {
    return (
      lineageOf(call).find((sessionId) => this.sessions.statusOf(sessionId) !== 'active') ?? call.sessionId
    );
  }

  private heldBy(agentId: string): number {
    let count = 0;
    for (const [, open] of this.openCalls.entries())
      if (open.cleared === undefined && open.recorded.decided.call.principal.agentId === agentId) count++;
    return count;
  }

  /** Resolves after the first sign that a held call may have changed, or after `ms`. */
  private nextChange(id: string, sessionId: string, ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const cleanups: (() => void)[] = [];
      const done = () => {
        for (const cleanup of cleanups) cleanup();
        resolve();
      };
      const timer = setTimeout(done, ms);
      cleanups.push(() => clearTimeout(timer));
      const offStore = this.heldCalls?.store.onChange((record) => {
        if (record.id === id) done();
      });
      if (offStore) cleanups.push(offStore);
      const offSession = this.sessions.watch?.(sessionId, done);
      if (offSession) cleanups.push(offSession);
      const offStanding = this.standing?.onChange(done);
      if (offStanding) cleanups.push(offStanding);
      if (signal) {
        if (signal.aborted) return done();
        signal.addEventListener('abort', done, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', done));
      }
    });
  }

  private async runCall(
    request: CallRequest,
    executor: ToolExecutor,
    options: CallOptions,
  ): Promise<CallResult> {
    const trace = startCallTrace(this.tracer, 'reins.call', options.traceContext);
    trace?.stage('decide');
    const decided = await this.decideWithCaptures(request, options, trace);
    return this.runDecided(decided, executor, options, trace);
  }

  /** Stages 3 to 7 of a decided call, with its trace (if traced) ended by what came of it. */
  private runDecided(
    decided: DecidedCall | CallResult,
    executor: ToolExecutor,
    options: CallOptions,
    trace: CallTrace | undefined,
  ): Promise<CallResult> {
    // untraced: no wrapper at all (not even one more promise)
    return trace === undefined
      ? this.runStages(decided, executor, options, undefined)
      : this.runTraced(decided, executor, options, trace);
  }

  private async runTraced(
    decided: DecidedCall | CallResult,
    executor: ToolExecutor,
    options: CallOptions,
    trace: CallTrace,
  ): Promise<CallResult> {
    try {
      const result = await this.runStages(decided, executor, options, trace);
      trace.decided(
        result.decisionId,
        decided instanceof DecidedCall ? decided.call : undefined,
        result.decision,
      );
      trace.end(result.outcome, result.status === 'error' ? result.outcome : undefined);
      return result;
    } catch (error) {
      trace.end(undefined, 'failed');
      throw error;
    }
  }

  /** Stages 3 to 7 of a decided call: record intent, gate, execute, filter output, record outcome. */
  private async runStages(
    decided: DecidedCall | CallResult,
    executor: ToolExecutor,
    options: CallOptions,
    trace: CallTrace | undefined,
  ): Promise<CallResult> {
    if (!(decided instanceof DecidedCall)) return decided;
    try {
      trace?.stage('record-intent');
      const recorded = await this.recordIntent(decided);
      if (!(recorded instanceof RecordedIntent)) return recorded;
      // a denial stays a denial; otherwise a caller already gone gets nothing held or run
      const { effect } = recorded.decided.decision;
      // humans may take minutes: the resources are not held meanwhile, and taken again to run it
      if (effect === 'approve') this.letGo(decided);
      trace?.stage('gate');
      const gated =
        options.signal?.aborted && effect !== 'deny'
          ? goneBeforeStart(effect)
          : await this.gate(recorded, options.signal, options.onWaiting);
      const cleared = gated instanceof ClearedCall ? await this.releasedHeld(gated, options) : gated;
      if (!(cleared instanceof ClearedCall)) {
        await this.release(decided);
        trace?.stage('record-outcome');
        return await this.recordOutcome(recorded, cleared);
      }
      trace?.stage('execute');
      const executed = await this.execute(cleared, executor, options.signal, trace);
      // not started: what it counted is given back, as for a refusal (and as replay reads the record)
      if (!executed.ok && executed.startedAt === undefined) await this.release(decided);
      trace?.stage('filter-output');
      const filtered = await this.filterOutput(cleared, executed);
      trace?.stage('record-outcome');
      return await this.recordOutcome(recorded, filtered, cleared.approval, options.errorOfResult);
    } finally {
      this.letGo(decided);
    }
  }

  /**
   * A call cleared after it was held takes its resources again, and runs only if its state is still as
   * captured (stateChangedWhileHeld); an allowed call still holds them from its capture.
   */
  private async releasedHeld(cleared: ClearedCall, options: CallOptions): Promise<ClearedCall | Refusal> {
    const { decided } = cleared.recorded;
    const keys = decided.reversal.resourceKeys;
    if (cleared.approval !== undefined && keys !== undefined && !this.resourceHolds.has(decided))
      this.heldUntilRecorded(decided, await this.holdResources(keys));
    return (await this.stateChangedWhileHeld(cleared, options)) ?? cleared;
  }

  /**
   * Stage 1+2: validate the request, read the state the decision needs, decide (policy/decide-call)
   * and reserve the call's limit counters. The state comes from the store (decision 0020): the
   * session's past from the audit log, only when the rules that may apply read it; the limits through
   * the reservation itself, which checks every count against its bound atomically in the store. A
   * reservation refused because other calls (in any process) spent the budget meanwhile decides again
   * with the store's totals.
   */
  private async decide(request: CallRequest, options: DecideOptions = {}): Promise<DecidedCall | CallResult> {
    const decisionId = options.decisionId ?? randomUUID();
    const startedAt = performance.now();
    // a non-object request must become a validation error, not a TypeError
    const { provenance, trustedInput, sessionRequest, credential, ...callInput } =
      typeof request === 'object' && request !== null ? request : ({} as CallRequest);
    const parsed = ToolCallSchema.safeParse(callInput);
    if (!parsed.success) {
      const message = `invalid call: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`;
      const decision = refusalDecision(this.policy.current.hash, { code: 'invalid_input', message });
      this.observe(decision, 'denied', startedAt);
      return { status: 'denied', decisionId, decision, outcome: 'denied', reason: message };
    }
    const now = this.clock();
    // a compensation runs on the operator's authority: no agent's standing applies to it
    const subject: StandingSubject = options.compensates
      ? { agentIds: [] }
      : {
          agentIds: [parsed.data.principal.agentId, ...parsed.data.principal.delegatedBy],
          ...(credential !== undefined ? { credential } : {}),
        };
    const policy = this.policy.current;
    const refusal = options.refusal ?? reservedSessionRefusal(parsed.data.sessionId, options.compensates);
    const compiled = policy.reversalOf(parsed.data.tool);
    const reversal = options.facts ?? assumedFacts(compiled, options.canCapture === true);
    const declared = this.requestOf(parsed.data.sessionId, trustedInput, sessionRequest, decisionId);
    const oneTrip =
      refusal === undefined && declared === undefined
        ? await this.decideInOneTrip(policy, decisionId, parsed.data, subject, now, reversal)
        : undefined;
    let read: SessionStateRead | undefined;
    if (oneTrip === undefined) read = await this.stateFor(policy, parsed.data, subject, declared, now);
    const { decided, reserved } =
      oneTrip ??
      (await this.decideAndReserve(policy, decisionId, {
        call: parsed.data,
        now,
        reversal,
        ...withRefusal(read as SessionStateRead, refusal),
      }));
    const latencyUs = Math.round((performance.now() - startedAt) * 1000);
    if (refusal === undefined && read?.refusal === undefined)
      this.notePending(parsed.data, decisionId, decided.decision, now);
    // where the arguments came from: after the decision (it does not depend on it), for every call
    // this enforcement point did not refuse before asking the policy
    const argumentProvenance =
      this.argumentLinks && refusal === undefined && read?.refusal === undefined
        ? await this.provenanceOf(
            policy,
            parsed.data,
            read?.state.dataflow,
            declared,
            read?.recorded === true,
          )
        : undefined;
    return new DecidedCall(
      decisionId,
      decided.call,
      decided.decision,
      now,
      startedAt,
      latencyUs,
      reserved,
      provenanceLinks(provenance),
      argumentProvenance,
      // a compensation runs with the captured values; what is decided and recorded is their summary
      options.executeArgs !== undefined && decided.decision.effect !== 'deny'
        ? options.executeArgs
        : decided.executeArgs,
      policy.redaction,
      subject,
      {
        ...(compiled !== undefined ? { compiled } : {}),
        ...(options.compensates !== undefined ? { compensates: options.compensates } : {}),
      },
    );
  }

  /**
   * Decides, then takes the captures the call's reversal needs (through `read`, the same upstream) and,
   * if they show the call is not what the decision assumed (not exactly reversible, or not capturable),
   * decides it again with what they showed: a capture that fails refuses the call (it does not run).
   * A denied call takes no captures.
   */
  private async decideWithCaptures(
    request: CallRequest,
    options: CallOptions,
    trace: CallTrace | undefined,
  ): Promise<DecidedCall | CallResult> {
    const upstream = options.readUpstream;
    const first = await this.decide(request, { canCapture: upstream !== undefined });
    if (!(first instanceof DecidedCall)) return first;
    const { compiled } = first.reversal;
    if (first.decision.effect === 'deny' || compiled?.kind !== 'compensation' || upstream === undefined)
      return first.withCaptures(uncaptured(compiled, upstream !== undefined));
    trace?.stage('capture');
    // the capture's reads of the upstream carry the capture stage's trace context
    const read: UpstreamReader =
      trace === undefined
        ? upstream
        : (name, args, signal) => trace.within(() => upstream(name, args, signal));
    // one call at a time changes a resource in this process, from its capture to its outcome: a capture
    // that another call's write overtook would restore the wrong state (calls that capture nothing take
    // the lock too: a move onto a path another call just captured is such a write)
    const keys = resourceKeysOf(compiled, first);
    const releaseAll = await this.holdResources(keys);
    try {
      return await this.captureHeld(request, options, first, compiled, read, keys, releaseAll);
    } catch (error) {
      releaseAll();
      throw error;
    }
  }

  /** The captures of a call whose resources this process holds, and the decision they lead to. */
  private async captureHeld(
    request: CallRequest,
    options: CallOptions,
    first: DecidedCall,
    compiled: CompiledReversal,
    read: UpstreamReader,
    keys: readonly string[],
    releaseAll: () => void,
  ): Promise<DecidedCall | CallResult> {
    if (!compiled.capturesState)
      return this.heldUntilRecorded(first.withCaptures(uncaptured(compiled, true), keys), releaseAll);
    const taken = await takeCaptures(
      compiled,
      reversalCallOf(first),
      read,
      this.captureScreens(first, options),
      options.signal ?? NEVER_ABORTED,
    );
    if (taken.failure === undefined && taken.facts.kind === 'reversible')
      return this.heldUntilRecorded(first.withCaptures(taken, keys), releaseAll);
    // decided on an assumption the captures did not bear out: decide again with what they showed
    await this.release(first);
    const again = await this.decide(request, {
      decisionId: first.decisionId,
      facts: taken.facts,
      canCapture: true,
      ...(taken.failure !== undefined
        ? {
            refusal: {
              code: 'capture_failed',
              message: `the state this call changes could not be captured, so it does not run: ${taken.failure}`,
            },
          }
        : {}),
    });
    if (!(again instanceof DecidedCall)) {
      releaseAll();
      return again;
    }
    return this.heldUntilRecorded(again.withCaptures(taken, keys), releaseAll);
  }

  /** Locks on resources this process holds, by key, until the call's outcome is recorded. */
  private readonly resourceHolds = new Map<DecidedCall, () => void>();

  private heldUntilRecorded(decided: DecidedCall, release: () => void): DecidedCall {
    this.resourceHolds.set(decided, release);
    return decided;
  }

  /** Gives back the resource locks a call holds (after its outcome, or while it waits for humans). */
  private letGo(decided: DecidedCall): void {
    this.resourceHolds.get(decided)?.();
    this.resourceHolds.delete(decided);
  }

  private async holdResources(keys: readonly string[]): Promise<() => void> {
    const releases: (() => void)[] = [];
    // in one order, so that two calls waiting for each other's resources cannot deadlock
    for (const key of [...new Set(keys)].sort()) releases.push(await this.resourceLocks.acquire(key));
    return () => {
      for (const release of releases.splice(0)) release();
    };
  }

  /** How captures are screened for the record: like the call's result. */
  private captureScreens(decided: DecidedCall, options: CallOptions): CaptureScreens {
    return {
      screen: (value) =>
        screenUpstreamValue(
          decided.redaction,
          decided.call.tool,
          decided.decision.tool,
          value,
          'the captured state',
        ),
      ...(options.errorOfResult !== undefined ? { errorOfResult: options.errorOfResult } : {}),
    };
  }

  /**
   * A held call runs only on the state the human saw: its captures are taken again before it is
   * released, and a state that changed meanwhile (or cannot be read) refuses it.
   */
  private async stateChangedWhileHeld(
    cleared: ClearedCall,
    options: CallOptions,
  ): Promise<Refusal | undefined> {
    const { decided } = cleared.recorded;
    const { compiled, taken } = decided.reversal;
    const read = options.readUpstream;
    if (cleared.approval === undefined || compiled === undefined || read === undefined) return undefined;
    if (taken === undefined || taken.contents.length === 0) return undefined;
    const now = await captureHashes(
      compiled,
      reversalCallOf(decided),
      read,
      this.captureScreens(decided, options),
      options.signal ?? NEVER_ABORTED,
    );
    const before = taken.digests;
    if (
      typeof now !== 'string' &&
      now.length === before.length &&
      now.every((hash, at) => hash === before[at])
    )
      return undefined;
    const why = typeof now === 'string' ? `it could not be read again (${now})` : 'it changed';
    return {
      outcome: 'denied',
      reason: `the state this call changes was captured when it was held, and ${why} before it was released: it did not run; ask again`,
    };
  }

  /**
   * Decides, then reserves what the decision counts. Limits are first checked against nothing spent:
   * the store's atomic reservation is the real check, and when it refuses, the call is decided again
   * with the totals it reported (the limit rule then applies its effect). A budget that keeps
   * changing under the decision refuses the call (fail closed).
   */
  private async decideAndReserve(
    policy: PreparedPolicy,
    decisionId: string,
    request: {
      call: ToolCall;
      state: DecisionState;
      now: number;
      reversal: ReversalFacts;
      refusal: Diagnostic | undefined;
    },
  ): Promise<{ decided: CallDecision; reserved: boolean }> {
    const totals = new Map<string, number>();
    const counters: CounterView = { total: (key) => totals.get(key) ?? 0 };
    for (let round = 0; round < MAX_RESERVATION_ROUNDS; round++) {
      const decided = decideCall(policy, { ...request, state: { ...request.state, counters } });
      // at once, before anything awaits: a call of the session decided next counts this one
      if (request.refusal === undefined)
        this.notePending(request.call, decisionId, decided.decision, request.now);
      if (decided.counts.length === 0) return { decided, reserved: false };
      let result: Awaited<ReturnType<CounterStore['reserve']>>;
      try {
        result = await this.counters.reserve(
          decisionId,
          request.now,
          countRequests(policy, decided, request.now),
        );
      } catch (error) {
        return {
          decided: this.refused(policy, request, stateUnavailable('limit counters', error)),
          reserved: false,
        };
      }
      if (result.ok) return { decided, reserved: true };
      for (const [key, total] of result.totals) totals.set(key, total);
    }
    const diagnostic: Diagnostic = {
      code: 'state_unavailable',
      message: `the limit counters kept changing while the call was decided (${MAX_RESERVATION_ROUNDS} times): refused`,
    };
    return { decided: this.refused(policy, request, diagnostic), reserved: false };
  }

  /**
   * A decision that reads the session and reserves a limit, in one round trip where the store offers
   * it (PostgreSQL): decided against the session state in memory, then reserved together with a read
   * of the log since; if that read changed the session's state, decided again, and kept only if the
   * decision and its counts are the same. Undefined whenever it does not apply or does not hold: the
   * caller then decides the usual way (nothing is left reserved).
   */
  private async decideInOneTrip(
    policy: PreparedPolicy,
    decisionId: string,
    call: ToolCall,
    subject: StandingSubject,
    now: number,
    reversal: ReversalFacts,
  ): Promise<{ decided: CallDecision; reserved: boolean } | undefined> {
    const reserveAndRead = this.counters.reserveAndReadLog?.bind(this.counters);
    if (reserveAndRead === undefined || !policy.readsSession(call)) return undefined;
    let reserved = false;
    try {
      const lineage = [...call.principal.parentSessions, call.sessionId];
      const projections = this.states.peek(policy, lineage);
      if (projections === undefined) return undefined;
      const decide = () => {
        const state = this.cachedState(policy, call, subject, projections);
        if (state === undefined) return undefined;
        const decided = decideCall(policy, { call, now, reversal, ...state });
        this.notePending(call, decisionId, decided.decision, now);
        return decided;
      };
      const first = decide();
      if (first === undefined || first.counts.length === 0) return undefined;
      const seen = projections.map((projection) => projection.lastSeq);
      const read = await this.states.readWith((afterSeq, limit) =>
        reserveAndRead(decisionId, now, countRequests(policy, first, now), afterSeq, limit).then(
          ({ result, records }) => ({ value: result, records }),
        ),
      );
      if (read === undefined || !read.value.ok) return undefined;
      reserved = true;
      // the tail reached these projections only if they are still the cache's
      const current = this.states.peek(policy, lineage);
      const cached = current?.every((projection, index) => projection === projections[index]) === true;
      const unchanged = projections.every((projection, index) => projection.lastSeq === seen[index]);
      const decided = unchanged ? first : decide();
      if (read.fresh && cached && decided !== undefined && sameDecision(first, decided))
        return { decided, reserved };
    } catch {
      // the usual way decides again, and refuses with the error if it persists
    }
    if (reserved) await this.counters.release(decisionId).catch(() => {});
    return undefined;
  }

  /** The decision state from projections in memory, or undefined if the call would be refused. */
  private cachedState(
    policy: PreparedPolicy,
    call: ToolCall,
    subject: StandingSubject,
    projections: readonly SessionProjection[],
  ): { state: DecisionState; refusal: undefined } | undefined {
    // known here already (its owner read from the store when it was first seen), or decided the usual way
    const session = this.sessions.get(call.sessionId);
    if (session === undefined) return undefined;
    const own = projections.at(-1) as SessionProjection;
    const refusal = this.checkOwner(session.id, session.agentId, call) ?? this.standing?.check(subject);
    if (refusal !== undefined || own.policy !== policy) return undefined;
    const read = this.stateFromProjections(session, call, projections);
    return read.refusal === undefined ? { state: read.state, refusal: undefined } : undefined;
  }

  /**
   * The decision state of a session from its projections — its history, and the data flow of it and the
   * sessions it was delegated from — with a refusal of this enforcement point if the log says the session
   * is another agent's or its history is full. One way for both ways of deciding (one trip or the usual).
   */
  private stateFromProjections(
    session: SessionRecord,
    call: ToolCall,
    projections: readonly SessionProjection[],
  ): { state: DecisionState; refusal: Diagnostic | undefined } {
    const own = projections.at(-1) as SessionProjection;
    const monitor = this.monitorInput(call, projections);
    const view: SessionView = {
      id: session.id,
      status: worstStatus(session.status, this.lineageStatus(call)),
      startedAt: own.startedAt ?? session.startedAt,
      history: own.history,
      labels: [],
    };
    const dataflow = lineageView(projections);
    const refusal = this.checkOwner(call.sessionId, own.agentId, call) ?? this.checkHistory(view);
    return { state: { session: view, counters: NO_COUNTERS, dataflow, monitor }, refusal };
  }

  /**
   * What the runtime monitor reads for this call: the session's activity and the calls this process
   * decided in it that the log does not hold yet (read when the monitor judges, not before: a decision
   * made meanwhile counts), the most severe stop of the session and the sessions it was delegated
   * from, the agent's baseline. A stop is read even when no monitor rule watches the agent any more (a
   * reload does not lift it; only an operator's resume does).
   */
  private monitorInput(call: ToolCall, projections: readonly SessionProjection[]): MonitorInput {
    const own = projections.at(-1) as SessionProjection;
    const pending = this.pendingActivity;
    const sessionId = call.sessionId;
    const inherited = lineageStop(projections.slice(0, -1));
    return {
      baseline: this.baselines?.of(call.principal.agentId),
      resumedAt: own.activity.resumedAt,
      raisedOnce: own.activity.raisedOnce,
      get activity() {
        return pending.view(sessionId, own.activity).activity;
      },
      get stop() {
        return moreSevereStop(pending.view(sessionId, own.activity).stop, inherited);
      },
    };
  }

  /** A call decided for a monitored session joins its pending activity until its intent is in the log. */
  private notePending(call: ToolCall, decisionId: string, decision: Decision, now: number): void {
    const monitor = this.policy.current.monitor;
    if (monitor === undefined || !monitor.watches(call.principal.agentId)) return;
    const findings = decision.monitor ?? [];
    const raised = findings.map((finding) => finding.rule);
    const stopping = findings.find((finding) => finding.action !== 'alert');
    this.pendingActivity.add(
      call.sessionId,
      {
        decisionId,
        tool: call.tool,
        key: toolKeyOf(call.tool),
        at: now,
        denied: decision.effect === 'deny',
        outputChars: 0,
        ...(raised.length > 0 ? { raised } : {}),
      },
      stopping === undefined || stopping.action === 'alert'
        ? undefined
        : { rule: stopping.rule, action: stopping.action, decisionId, reason: stopping.message },
    );
  }

  /** The call denied with `diagnostic`, screened like any decision. */
  private refused(
    policy: PreparedPolicy,
    request: { call: ToolCall; state: DecisionState; now: number; reversal: ReversalFacts },
    diagnostic: Diagnostic,
  ): CallDecision {
    return decideCall(policy, { ...request, refusal: diagnostic });
  }

  /** Gives back what a call that did not run had reserved; a failure only loses budget (never adds). */
  private async release(decided: DecidedCall): Promise<void> {
    if (!decided.reserved) return;
    await this.counters.release(decided.decisionId).catch(() => {});
  }

  /**
   * What the decision reads: the session (opened on first use) and, when a rule that may apply reads
   * it, its past from the audit log — its history and its data flow, together with that of the
   * sessions it was delegated from; or a refusal of this enforcement point (a session of another
   * agent, a full history, an agent or credential without standing). A state that cannot be read
   * refuses (fail closed).
   */
  private async stateFor(
    policy: PreparedPolicy,
    call: ToolCall,
    subject: StandingSubject,
    request: PendingRequest | undefined,
    now: number,
  ): Promise<SessionStateRead> {
    let view: SessionView = { id: call.sessionId, status: 'active', startedAt: now, history: [], labels: [] };
    try {
      const session = this.sessions.ensure
        ? await this.sessions.ensure(call.sessionId, call.principal.agentId, now)
        : this.sessions.open(call.sessionId, call.principal.agentId, now);
      view = {
        id: session.id,
        status: worstStatus(session.status, this.lineageStatus(call)),
        startedAt: session.startedAt,
        history: [],
        labels: [],
      };
      const refusal = this.checkOwner(session.id, session.agentId, call) ?? this.standing?.check(subject);
      if (refusal !== undefined || !(request !== undefined || policy.readsSession(call)))
        return { state: { session: view, counters: NO_COUNTERS }, refusal };
      const projections = await this.states.read(policy, [...call.principal.parentSessions, call.sessionId]);
      // recorded with this call's intent when the session did not have it on record yet
      const recorded =
        request !== undefined &&
        (projections.at(-1) as SessionProjection).dataflow.recordUserInput(request.text, request.decisionId);
      // carried (or found attributed already): a session declaration is taken by one call only
      if (request?.via === 'session' && this.undeclaredRequests.get(call.sessionId) === request.text)
        this.undeclaredRequests.delete(call.sessionId);
      return { ...this.stateFromProjections(session, call, projections), recorded };
    } catch (error) {
      // fail closed: a session store error is not "no opinion"
      return {
        state: { session: view, counters: NO_COUNTERS },
        refusal: stateUnavailable('the session state', error),
      };
    }
  }

  /**
   * The user's request this call declares: its own (`trustedInput`), one it declares for the session
   * (`sessionRequest`), or one declared in this process for the session (`declareUserInput`) that no
   * record carries yet. Applied in `stateFor`, past the session's owner and standing checks.
   */
  private requestOf(
    sessionId: string,
    trustedInput: string | undefined,
    sessionRequest: string | undefined,
    decisionId: string,
  ): PendingRequest | undefined {
    if (typeof trustedInput === 'string' && trustedInput.length > 0)
      return { text: trustedInput, via: 'call', decisionId };
    if (typeof sessionRequest === 'string' && sessionRequest.length > 0)
      return { text: sessionRequest, via: 'session', decisionId };
    const declared = this.undeclaredRequests.get(sessionId);
    return declared === undefined ? undefined : { text: declared, via: 'session', decisionId };
  }

  /**
   * Where the call's argument values came from (dataflow/argument-links), from the data flow the
   * decision read or, when it read none, the session's as the log says now; and the request it puts on
   * record. Links explain, they do not decide: a state that cannot be read leaves them `incomplete`.
   */
  private async provenanceOf(
    policy: PreparedPolicy,
    call: ToolCall,
    read: DataflowView | undefined,
    request: PendingRequest | undefined,
    recordRequest: boolean,
  ): Promise<CallProvenanceRecord> {
    const declared: Pick<CallProvenanceRecord, 'request'> =
      recordRequest && request !== undefined
        ? { request: { text: redactRequest(policy, request.text), via: request.via } }
        : {};
    let view = read;
    try {
      if (view === undefined) {
        const projections = await this.states.read(policy, [
          ...call.principal.parentSessions,
          call.sessionId,
        ]);
        view = lineageView(projections);
      }
      const found = findArgumentSources(call.args, view, call.sessionId);
      return {
        ...declared,
        sources: found.sources,
        ...(found.truncated ? { truncated: true as const } : {}),
        ...(view.complete ? {} : { incomplete: true as const }),
      };
    } catch {
      return { ...declared, sources: [], incomplete: true };
    }
  }

  /** A session belongs to the agent that opened it (in any process: its first recorded call). */
  private checkOwner(sessionId: string, owner: string | undefined, call: ToolCall): Diagnostic | undefined {
    if (owner === undefined || owner === call.principal.agentId) return undefined;
    return {
      code: 'session_agent_mismatch',
      message: `session \`${sessionId}\` belongs to agent \`${owner}\`, not \`${call.principal.agentId}\``,
    };
  }

  private checkHistory(session: SessionView): Diagnostic | undefined {
    if (this.maxSessionHistory === undefined || session.history.length < this.maxSessionHistory)
      return undefined;
    return {
      code: 'session_history_full',
      message: `session \`${session.id}\` reached ${this.maxSessionHistory} calls: start a new session`,
    };
  }

  /** Stage 3: the attempt and its decision are durable before anything else happens. */
  private async recordIntent(decided: DecidedCall): Promise<RecordedIntent | CallResult> {
    const { call, decision } = decided;
    const event: CallIntentEvent = {
      v: 1,
      id: `${decided.decisionId}/intent`,
      kind: 'call-intent',
      time: new Date(decided.decidedAt).toISOString(),
      decisionId: decided.decisionId,
      sessionId: call.sessionId,
      principal: call.principal,
      tool: call.tool,
      links: [...decided.links],
      args: call.args,
      decision: auditDecision(decision),
      decisionLatencyUs: decided.decisionLatencyUs,
    };
    const { taken, compensates } = decided.reversal;
    if (taken?.record !== undefined) event.reversal = taken.record;
    if (compensates !== undefined) event.compensates = compensates;
    if (decided.provenance !== undefined) event.provenance = decided.provenance;
    // a finding names the calls it counted; the call that raised it is the last of them
    if (decision.monitor !== undefined && decision.monitor.length > 0)
      event.monitor = decision.monitor.map((finding) => ({
        ...finding,
        records: [...finding.records, decided.decisionId],
      }));
    try {
      // the captured state is durable in the same commit as the intent, or neither is
      const { seq, body } = await this.audit.append(
        event,
        taken && taken.contents.length > 0 ? { captured: taken.contents } : undefined,
      );
      this.states.applyOwn(seq, event, body);
      if (event.monitor !== undefined) this.tellMonitorListener(event);
      return new RecordedIntent(decided, event.id);
    } catch (error) {
      // fail closed: what cannot be recorded does not run (nor counts for the monitor)
      this.pendingActivity.forget(call.sessionId, decided.decisionId);
      await this.release(decided);
      const message = `audit unavailable, call refused: ${describeError(error)}`;
      const denied = refusalDecision(decision.policyHash, { code: 'audit_unavailable', message });
      this.observe(denied, 'denied', decided.startedAt, decided.decisionLatencyUs);
      return {
        status: 'denied',
        decisionId: decided.decisionId,
        decision: denied,
        outcome: 'denied',
        reason: message,
      };
    }
  }

  /** Hands the monitor's findings on (alerts, pause, suspension); a listener's failure never changes the call. */
  private tellMonitorListener(intent: CallIntentEvent): void {
    const listener = this.onMonitorFindings;
    if (listener === undefined || intent.monitor === undefined) return;
    const findings = intent.monitor;
    try {
      void Promise.resolve(
        listener({
          decisionId: intent.decisionId,
          sessionId: intent.sessionId,
          agentId: intent.principal.agentId,
          tool: intent.tool,
          effect: intent.decision.effect,
          time: intent.time,
          findings,
        }),
      ).catch(() => {});
    } catch {
      // the stop is in the log already; a listener only makes it visible
    }
  }

  /** Stage 4: allow passes, deny stops, approve waits for humans (expiry and cancellation refuse). */
  private async gate(
    recorded: RecordedIntent,
    callerSignal: AbortSignal | undefined,
    onWaiting: WaitingListener | undefined,
  ): Promise<ClearedCall | Refusal> {
    const { decision, call, decisionId } = recorded.decided;
    if (decision.effect === 'allow') return new ClearedCall(recorded, undefined);
    if (decision.effect === 'deny') return this.overridden(recorded);
    if (this.approvals === undefined) {
      return {
        outcome: 'denied',
        reason: `approval required (${decision.reasons.join('; ')}) but no approver is configured`,
      };
    }
    // the holding rule may ask for a shorter expiry than the default
    let timeoutMs = this.approvalTimeoutMs;
    for (const obligation of decision.obligations) {
      if (obligation.kind === 'approval' && obligation.expiresInMs !== undefined)
        timeoutMs = Math.min(timeoutMs, obligation.expiresInMs);
    }
    // A ref'd timer, not AbortSignal.timeout: the process must stay alive until a held call expires,
    // or the call would vanish without an outcome record.
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(new Error('approval expired')), timeoutMs);
    // a session killed while the call waits refuses it at once, in whichever process killed it
    const stop = new AbortController();
    const unwatchers = lineageOf(call).map((sessionId) =>
      this.sessions.watch?.(sessionId, (status) => {
        if (status === 'killed') stop.abort(new Error(`session \`${sessionId}\` was killed`));
      }),
    );
    const unwatch = () => {
      for (const each of unwatchers) each?.();
    };
    // so does a suspension of its agent or a revocation of its credential, heard from any process
    let lostStanding: Diagnostic | undefined;
    const unwatchStanding = this.standing?.onChange(() => {
      lostStanding ??= this.standingRefusal(recorded.decided.subject);
      if (lostStanding !== undefined) stop.abort(new Error(lostStanding.message));
    });
    const signals = [expiry.signal, stop.signal];
    if (callerSignal) signals.push(callerSignal);
    const signal = AbortSignal.any(signals);
    let verdict: ApprovalVerdict;
    try {
      verdict = await raceAbort(
        this.approvals({ decisionId, call, decision, callHash: callHash(call) }, signal, onWaiting),
        signal,
      );
    } catch (error) {
      if (lostStanding !== undefined)
        return { outcome: 'denied', reason: `${lostStanding.message}: the held call is refused` };
      if (expiry.signal.aborted)
        return { outcome: 'expired', reason: `approval expired after ${timeoutMs} ms` };
      if (stop.signal.aborted) return { outcome: 'cancelled', reason: describeError(stop.signal.reason) };
      // the caller stopped waiting (gave up, cancelled, disconnected): nobody would receive the result
      if (callerSignal?.aborted)
        return {
          outcome: 'abandoned',
          reason: `abandoned while awaiting approval: the caller stopped waiting (${describeError(callerSignal.reason)})`,
        };
      return { outcome: 'denied', reason: `approval failed: ${describeError(error)}` };
    } finally {
      clearTimeout(timer);
      unwatch?.();
      unwatchStanding?.();
    }
    if (!verdict.approved) {
      return {
        outcome: 'denied',
        reason: `approval refused${verdict.by ? ` by ${verdict.by}` : ''}${verdict.reason ? `: ${verdict.reason}` : ''}`,
        approval: verdict,
      };
    }
    // the world may have changed while the call waited: a suspended agent or revoked credential
    // releases nothing (read from the store, not from what this process has heard so far) ...
    const refusal = await this.freshStandingRefusal(recorded.decided.subject);
    if (refusal !== undefined)
      return {
        outcome: 'denied',
        reason: `${refusal.message}: the approved call is refused`,
        approval: verdict,
      };
    // ... and a killed or paused session stays stopped
    const status = this.lineageStatus(call);
    if (status !== 'active') {
      return {
        outcome: 'cancelled',
        reason: `session \`${this.stoppedSession(call)}\` is ${status}`,
        approval: verdict,
      };
    }
    return new ClearedCall(recorded, verdict);
  }

  /** The standing check's refusal, if any; a check that fails refuses (fail closed). */
  private standingRefusal(subject: StandingSubject): Diagnostic | undefined {
    try {
      return this.standing?.check(subject);
    } catch (error) {
      return {
        code: 'standing_unavailable',
        message: `standing could not be checked: ${describeError(error)}`,
      };
    }
  }

  private async freshStandingRefusal(subject: StandingSubject): Promise<Diagnostic | undefined> {
    if (this.standing === undefined) return undefined;
    try {
      return await this.standing.recheck(subject);
    } catch (error) {
      return {
        code: 'standing_unavailable',
        message: `standing could not be checked: ${describeError(error)}`,
      };
    }
  }

  /** A policy denial an operator has overridden for exactly this call runs once; anything else stays denied. */
  private async overridden(recorded: RecordedIntent): Promise<ClearedCall | Refusal> {
    const { decision, call } = recorded.decided;
    const refusal: Refusal = { outcome: 'denied', reason: decision.reasons.join('; ') };
    // diagnostics mean the decision itself failed or the session/agent is stopped: not overridable
    if (this.overrides === undefined || decision.diagnostics.length > 0) return refusal;
    let grant: { by: string; reason: string } | undefined;
    try {
      grant = await this.overrides(callHash(call), new Date(this.clock()));
    } catch {
      return refusal; // fail closed: an unreadable override store overrides nothing
    }
    if (grant === undefined) return refusal;
    // a human lets the call run, not around the budgets: it counts towards every limit (fail closed)
    if (!(await this.countOverridden(recorded.decided)))
      return {
        outcome: 'denied',
        reason: `${refusal.reason}; the override could not be counted towards the limits`,
      };
    return new ClearedCall(recorded, { approved: true, by: grant.by, reason: `override: ${grant.reason}` });
  }

  /**
   * Records what an overridden call adds to the limit counters, whether or not it fits: the operator
   * decided it runs. False if the counters could not be written.
   */
  private async countOverridden(decided: DecidedCall): Promise<boolean> {
    const policy = this.policy.current;
    const session: SessionView = {
      id: decided.call.sessionId,
      status: 'active',
      startedAt: decided.decidedAt,
      history: [],
      labels: [],
    };
    const counts = policy.countsOf({
      call: decided.call,
      session,
      counters: NO_COUNTERS,
      now: decided.decidedAt,
      dataflow: undefined,
    });
    if (counts.length === 0) return true;
    const requests: CountRequest[] = counts.map((count) => ({
      key: count.key,
      amount: count.amount,
      max: Number.MAX_VALUE,
      // a window no limit of the policy exceeds (the bound is not checked, the start only read)
      sinceMs: decided.decidedAt - policy.longestLimitWindowMs,
    }));
    try {
      return (await this.counters.reserve(decided.decisionId, decided.decidedAt, requests)).ok;
    } catch {
      return false;
    }
  }

  /** Stage 5: run the tool. Only reachable with a ClearedCall. */
  private async execute(
    cleared: ClearedCall,
    executor: ToolExecutor,
    callerSignal: AbortSignal | undefined,
    trace: CallTrace | undefined,
  ): Promise<Execution> {
    const { decisionId, executeArgs } = cleared.recorded.decided;
    const startedAt = this.clock();
    let running: Promise<unknown> | undefined;
    try {
      const context = { signal: callerSignal ?? NEVER_ABORTED, decisionId };
      // traced: the execute span is the active context, so the upstream request carries it
      running =
        trace === undefined
          ? executor(executeArgs, context)
          : trace.within(() => executor(executeArgs, context));
      // nothing can cancel a call without a signal: no race needed
      const output = callerSignal ? await raceAbort(running, callerSignal) : await running;
      return { ok: true, output, startedAt };
    } catch (error) {
      if (callerSignal?.aborted)
        return cancelledExecution(await notStartedBy(running ?? Promise.reject(error)), startedAt);
      // an executor that gave up before it started the tool (the gateway's queue: full, or its wait
      // used up the call's timeout) failed a call that did not run: no start time
      if (error instanceof ToolNotStarted)
        return { ok: false, error: `tool failed: ${describeError(error)}`, outcome: 'error' };
      return { ok: false, error: `tool failed: ${describeError(error)}`, outcome: 'error', startedAt };
    }
  }

  /**
   * Stage 6: what came back, a result or an error message, passes the redaction screen and then the
   * output filters before anyone sees it; whatever cannot be screened is withheld (fail closed).
   */
  private async filterOutput(cleared: ClearedCall, execution: Execution): Promise<Execution> {
    return execution.ok
      ? this.filterResult(cleared.recorded.decided, execution.output, execution.startedAt)
      : { ...execution, error: await this.filterError(cleared.recorded.decided, execution.error) };
  }

  private async filterResult(decided: DecidedCall, result: unknown, startedAt: number): Promise<Execution> {
    const { call, decision, redaction } = decided;
    // what is screened is what is recorded and returned: the result as JSON (a URL, a class with
    // toJSON or a Map hides its text from the screen until something serialises it later)
    const plain = asJson(result);
    if (!plain.ok)
      return { ok: false, error: `output withheld: ${plain.reason}`, outcome: 'error', startedAt };
    const screened = screenUpstreamValue(redaction, call.tool, decision.tool, plain.value, 'the result');
    if (!screened.ok)
      return { ok: false, error: `output withheld: ${screened.reason}`, outcome: 'error', startedAt };
    let output = screened.value;
    for (const filter of this.outputFilters) {
      try {
        output = await filter(output, { call, decision, kind: 'result' });
      } catch (error) {
        const message = `output withheld: filter failed: ${describeError(error)}`;
        return { ok: false, error: screenedMessage(decided, message), outcome: 'error', startedAt };
      }
    }
    return { ok: true, output, startedAt };
  }

  /** An error message quotes the upstream (a connection string, a key): it is screened like a result. */
  private async filterError(decided: DecidedCall, message: string): Promise<string> {
    const { call, decision, redaction } = decided;
    const screened = screenUpstreamValue(redaction, call.tool, decision.tool, message, 'it');
    if (!screened.ok) return `tool failed: error message withheld: ${screened.reason}`;
    let text = screened.value;
    for (const filter of this.outputFilters) {
      try {
        const filtered = await filter(text, { call, decision, kind: 'error' });
        if (typeof filtered !== 'string')
          return 'tool failed: error message withheld: a filter did not return text';
        text = filtered;
      } catch (error) {
        return screenedMessage(
          decided,
          `tool failed: error message withheld: filter failed: ${describeError(error)}`,
        );
      }
    }
    return text;
  }

  /** Tells the observer (metrics) about a call that has ended; `startedAt` is `performance.now()`'s. */
  private observe(decision: Decision, outcome: string, startedAt: number, decisionLatencyUs?: number): void {
    tellObserver(this.observer, {
      effect: decision.effect,
      decidedBy: decision.decidedBy,
      outcome,
      ...(decisionLatencyUs !== undefined ? { decisionSeconds: decisionLatencyUs / 1e6 } : {}),
      durationSeconds: (performance.now() - startedAt) / 1000,
    });
  }

  /** Stage 7: the outcome, linked to its intent. A result that cannot be recorded is not released. */
  /**
   * `retryable`: an outcome the log refuses may be reported again (the remote protocol releases the
   * call's end claim), so the call has not ended and is not told to the observer yet: one call, one
   * observation, whichever attempt records it.
   */
  private async recordOutcome(
    recorded: RecordedIntent,
    result: Execution | Refusal,
    approval?: ApprovalVerdict,
    errorOfResult?: CallOptions['errorOfResult'],
    retryable = false,
  ): Promise<CallResult> {
    const { decided } = recorded;
    const { call, decisionId, decision } = decided;
    // a result that reports a failure (read from what the agent will see: screened and filtered)
    const failure = 'ok' in result && result.ok ? resultFailure(errorOfResult, result.output) : undefined;
    const outcome: Outcome =
      'ok' in result
        ? result.ok
          ? failure === undefined
            ? 'ok'
            : 'error'
          : result.outcome
        : result.outcome;
    const verdict = 'ok' in result ? approval : result.approval;
    const event: CallOutcomeEvent = {
      v: 1,
      id: `${decisionId}/outcome`,
      kind: 'call-outcome',
      time: new Date(this.clock()).toISOString(),
      decisionId,
      sessionId: call.sessionId,
      principal: call.principal,
      tool: call.tool,
      links: [{ rel: 'intent', id: recorded.intentId }],
      outcome,
      latencyUs: Math.round((performance.now() - decided.startedAt) * 1000),
    };
    if ('ok' in result && result.startedAt !== undefined)
      event.startedAt = new Date(result.startedAt).toISOString();
    if ('ok' in result && result.ok) event.result = result.output;
    if (failure !== undefined) event.error = failure;
    if ('ok' in result && !result.ok) event.error = result.error;
    if (!('ok' in result)) event.error = result.reason;
    if (verdict) event.approval = approvalRecord(verdict);
    try {
      // released once written, durable within the log's bound and with the next durable record of
      // the file, which any decision that may read it needs before it takes effect (decision 0028)
      const { seq, body } = await this.audit.append(event, { syncLater: true });
      this.states.applyOwn(seq, event, body);
    } catch (error) {
      if (!retryable) this.observe(decision, 'error', decided.startedAt, decided.decisionLatencyUs);
      const message = `${OUTCOME_NOT_RECORDED}, result withheld: ${describeError(error)}`;
      return { status: 'error', decisionId, decision, outcome: 'error', error: message };
    }
    this.observe(decision, outcome, decided.startedAt, decided.decisionLatencyUs);
    if (!('ok' in result)) return { status: 'denied', decisionId, decision, outcome, reason: result.reason };
    if (!result.ok) return { status: 'error', decisionId, decision, outcome, error: result.error };
    return { status: 'ok', decisionId, decision, outcome, output: result.output };
  }
}

/** A message of ours that may quote what a filter saw: placeholders for anything not allowed. */
function screenedMessage(decided: DecidedCall, message: string): string {
  return screenUpstreamText(decided.redaction, decided.call.tool, decided.decision.tool, message);
}

/** Decisions whose limits are checked by the reservation read no totals beforehand. */
const NO_COUNTERS: CounterView = { total: () => 0 };
/** How often a call is decided again when its reservation finds the budget spent meanwhile. */
const MAX_RESERVATION_ROUNDS = 4;

/** What the reservation asks the store for: each count with its rule's bound and window. */
function countRequests(policy: PreparedPolicy, decided: CallDecision, now: number): CountRequest[] {
  return decided.counts.map((count) => {
    const limit = policy.limitOf(count.ruleId);
    // a count of a rule the policy does not have cannot be checked: nothing fits it (fail closed)
    return {
      key: count.key,
      amount: count.amount,
      max: limit?.max ?? -1,
      sinceMs: now - (limit?.windowMs ?? 0),
    };
  });
}

/** Same effect, same rules deciding, same counts: a decision that may keep its reservation. */
function sameDecision(left: CallDecision, right: CallDecision): boolean {
  const counts = (decided: CallDecision) =>
    decided.counts.map((count) => `${count.key}=${count.amount}`).join('\n');
  return (
    left.decision.effect === right.decision.effect &&
    left.decision.decidedBy.join('\n') === right.decision.decidedBy.join('\n') &&
    counts(left) === counts(right)
  );
}

function stateUnavailable(what: string, error: unknown): Diagnostic {
  return {
    code: 'state_unavailable',
    message: `${what} could not be read from the store, call refused: ${describeError(error)}`,
  };
}

/** The data flow of a session seen with the sessions it was delegated from (outermost first). */
function lineageView(projections: readonly SessionProjection[]): DataflowView {
  return projections.length === 1
    ? (projections[0] as SessionProjection).dataflow
    : new LineageDataflow(projections.map((each) => each.dataflow));
}

/** The user's request as recorded: redacted as the policy says; withheld when it cannot be screened. */
function redactRequest(policy: PreparedPolicy, text: string): string {
  try {
    return policy.redaction?.redactRequest(text) ?? text;
  } catch {
    return '[request withheld: it could not be screened for secrets]';
  }
}

/** A user's request declared for a call, before it is on record. */
interface PendingRequest {
  readonly text: string;
  readonly via: 'call' | 'session';
  /** The call whose intent will carry it. */
  readonly decisionId: string;
}

/** What the decision read about the session, and whether this call puts a declared request on record. */
interface SessionStateRead {
  readonly state: DecisionState;
  readonly refusal: Diagnostic | undefined;
  readonly recorded?: boolean;
}

function provenanceLinks(provenance: CallProvenance | undefined): AuditLink[] {
  if (provenance === undefined) return [];
  const links: AuditLink[] = (provenance.inputs ?? []).map((id) => ({ rel: 'input', id: `${id}/outcome` }));
  if (provenance.parent !== undefined) links.push({ rel: 'parent', id: `${provenance.parent}/intent` });
  return links;
}

/** A deny decided by the harness itself (before or around the policy): see policy/decide-call. */
export const denyDecision = refusalDecision;

function auditDecision(decision: Decision): CallIntentEvent['decision'] {
  const recorded: CallIntentEvent['decision'] = {
    effect: decision.effect,
    matchedRules: decision.matchedRules,
    reasons: decision.reasons,
    decidedBy: decision.decidedBy,
    policyHash: decision.policyHash,
    diagnostics: decision.diagnostics,
  };
  if (decision.shadow) recorded.shadow = decision.shadow;
  return recorded;
}

function approvalRecord(verdict: ApprovalVerdict): NonNullable<CallOutcomeEvent['approval']> {
  const record: NonNullable<CallOutcomeEvent['approval']> = { approved: verdict.approved };
  if (verdict.by !== undefined) record.by = verdict.by;
  if (verdict.reason !== undefined) record.reason = verdict.reason;
  return record;
}

/** What a result says went wrong, if it reports a failure; a reader that throws counts as one (fail closed). */
function resultFailure(errorOfResult: CallOptions['errorOfResult'], output: unknown): string | undefined {
  if (errorOfResult === undefined) return undefined;
  try {
    return errorOfResult(output);
  } catch (error) {
    return `the result could not be read: ${describeError(error)}`;
  }
}

/**
 * A call whose caller had already gone before its turn (the cancellation came in the same batch, or
 * the client disconnected at once): nothing is held or run. Refused, so that nothing starts.
 */
function goneBeforeStart(effect: 'allow' | 'approve'): Refusal {
  return effect === 'approve'
    ? { outcome: 'abandoned', reason: 'abandoned: the caller stopped waiting before the call was held' }
    : { outcome: 'cancelled', reason: 'cancelled by the caller before the tool was started' };
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (a hung tool or approver cannot hold the call). */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {}); // its own failure no longer matters: the abort is the answer
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * The `ToolNotStarted` a cancelled call's executor gave up with, if it did so in the turn of the
 * cancellation (the gateway's queue does): its answer is awaited until the next turn of the event loop
 * only, so an executor that goes on past its cancellation holds nothing up. Later, or anything else,
 * proves nothing: undefined.
 */
function notStartedBy(running: Promise<unknown>): Promise<ToolNotStarted | undefined> {
  return new Promise((resolve) => {
    const answer = (notStarted: ToolNotStarted | undefined) => {
      clearImmediate(tooLate);
      resolve(notStarted);
    };
    const tooLate = setImmediate(answer, undefined);
    running.then(
      () => answer(undefined),
      (error: unknown) => answer(error instanceof ToolNotStarted ? error : undefined),
    );
  });
}

/**
 * A call its caller cancelled once its executor had it: not run, if the executor gave up before it
 * started the tool (no start time: the record's "never started"); otherwise the tool was asked to run,
 * the cancellation reached it, or it may have finished anyway.
 */
function cancelledExecution(notStarted: ToolNotStarted | undefined, startedAt: number): Execution {
  if (notStarted !== undefined)
    return {
      ok: false,
      error: `cancelled by the caller before the tool was started, so it did not run: ${notStarted.message}`,
      outcome: 'cancelled',
    };
  return {
    ok: false,
    error: 'cancelled by the caller after the tool was started: it may have taken effect',
    outcome: 'cancelled',
    startedAt,
  };
}

/** The counter key whose single unit is the right to record a call's outcome (harness `claimEnd`). */
function endClaimOf(id: string): string {
  return `reins.call-end:${id}`;
}

/** The counter key whose unit says an operator's override let this denied call run. */
function overrideClaimOf(id: string): string {
  return `reins.call-override:${id}`;
}

/** The counter key whose single unit is the right to open the call a call id names (harness `claimOpen`). */
function openClaimOf(id: string): string {
  return `reins.call-open:${id}`;
}

/** Ends the trace of `open` or `complete` with the call's state (or the code of the refused request). */
function endTrace(trace: CallTrace, answer: CallAnswer): CallAnswer {
  if (answer.ok) trace.end(answer.state.outcome ?? answer.state.status);
  else trace.end(answer.state?.outcome, answer.code);
  return answer;
}

function refusedAnswer(
  code: Extract<CallAnswer, { ok: false }>['code'],
  message: string,
  state?: CallState,
): CallAnswer {
  return state === undefined ? { ok: false, code, message } : { ok: false, code, message, state };
}

function notFound(id: string): CallAnswer {
  return refusedAnswer('not_found', `no call \`${id}\` of this agent in this session`);
}

function notReady(state: CallState): CallAnswer {
  const why =
    state.status === 'held'
      ? 'it is held for approval: wait for it first'
      : state.status === 'denied'
        ? `it was refused (${state.outcome ?? 'denied'}): the tool must not have run`
        : 'its outcome is already on record';
  return refusedAnswer('not_ready', `call \`${state.id}\` takes no outcome: ${why}`, state);
}

function callStateBase(id: string, decided: { call: ToolCall; decision: Decision }) {
  return {
    id,
    effect: decided.decision.effect,
    tool: `${decided.call.tool.server}/${decided.call.tool.name}`,
  } as const;
}

/** The recorded call (as decided, arguments redacted) from its intent record. */
function callOfIntent(intent: CallIntentEvent): ToolCall {
  return {
    principal: intent.principal,
    sessionId: intent.sessionId,
    tool: intent.tool,
    args: intent.args,
    context: {},
  };
}

/** The agent and session a request names, if it names them at all (the decision validates the rest). */
function callerOfRequest(request: CallRequest): CallerRef | undefined {
  const principal = (request as { principal?: { agentId?: unknown } } | undefined)?.principal;
  if (typeof principal?.agentId !== 'string') return undefined;
  const parsed = ToolCallSchema.safeParse({
    principal: request.principal,
    sessionId: request.sessionId,
    tool: request.tool,
  });
  if (!parsed.success) return undefined;
  const { principal: owner, sessionId } = parsed.data;
  return request.credential === undefined
    ? { principal: owner, sessionId }
    : { principal: owner, sessionId, credential: request.credential };
}

/** Whether the caller is the agent, in the session, that made the call. */
function ownsCall(caller: CallerRef, call: ToolCall): boolean {
  return caller.principal.agentId === call.principal.agentId && caller.sessionId === call.sessionId;
}

function subjectOf(caller: CallerRef): StandingSubject {
  const agentIds = [caller.principal.agentId, ...caller.principal.delegatedBy];
  return caller.credential === undefined ? { agentIds } : { agentIds, credential: caller.credential };
}

function refusedBy(record: ApprovalRecord): string {
  const verdict = verdictOf(record, false);
  return `approval refused${verdict.by ? ` by ${verdict.by}` : ''}${verdict.reason ? `: ${verdict.reason}` : ''}`;
}

/** The call's session and the sessions it was delegated from. */
function lineageOf(call: ToolCall): string[] {
  return [call.sessionId, ...call.principal.parentSessions];
}

const STATUS_SEVERITY: Record<SessionStatus, number> = { active: 0, paused: 1, killed: 2 };

function worstStatus(left: SessionStatus, right: SessionStatus): SessionStatus {
  return STATUS_SEVERITY[right] > STATUS_SEVERITY[left] ? right : left;
}

/** A value as JSON would carry it (the audit log's and the wire's form); undefined stays undefined. */
function asJson(value: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  if (value === undefined) return { ok: true, value };
  try {
    const text = JSON.stringify(value);
    return { ok: true, value: text === undefined ? undefined : JSON.parse(text) };
  } catch (error) {
    return { ok: false, reason: `the result is not JSON (${describeError(error)})` };
  }
}

/** The call as its reversal's expressions see it: the arguments it runs with. */
function reversalCallOf(decided: DecidedCall): ReversalCall {
  return {
    decisionId: decided.decisionId,
    sessionId: decided.call.sessionId,
    server: decided.call.tool.server,
    name: decided.call.tool.name,
    args: decided.executeArgs,
  };
}

/** The state read for a decision, with a refusal of the enforcement point put first. */
function withRefusal<T extends { refusal: Diagnostic | undefined }>(
  read: T,
  refusal: Diagnostic | undefined,
): T {
  return refusal === undefined ? read : { ...read, refusal };
}

/** Lock keys for the resources a call changes (its reversal's `resources`), per server. */
function resourceKeysOf(compiled: CompiledReversal, decided: DecidedCall): string[] {
  const resources = compiled.resources(reversalCallOf(decided));
  const server = decided.call.tool.server;
  // a call whose resources cannot be named is serialised with the others that cannot (one key per server)
  if (!resources.ok || resources.value.length === 0) return [`${server}\u0000`];
  return resources.value.map((resource) => `${server}\u0000${resource}`);
}

/** The most severe stop of the sessions a session was delegated from: a child is stopped with its parent. */
function lineageStop(parents: readonly SessionProjection[]): MonitorStop | undefined {
  let stop: MonitorStop | undefined;
  for (const parent of parents) stop = moreSevereStop(stop, parent.activity.stop);
  return stop;
}
