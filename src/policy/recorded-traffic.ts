/**
 * @module policy/recorded-traffic
 * Decides recorded calls again, against the session state as it was. The audit log's records, read in
 * log order, rebuild what every decision read: each session's history (a call joins it when its tool
 * was started, and its outcome is filled in when it ends) and status (operator actions), and — per
 * policy, because they depend on the policy — the limit counters (reserved when a call is let through,
 * released when it then did not run) and the data flow (the outputs the agent saw). Each recorded
 * call is decided by every policy given, through the one decision entry point, with the principal as
 * recorded (roles, scopes, delegation chain).
 *
 * Used by `reins policy diff` (every call, two policies) and by dry runs that name a live session
 * (the state at the end). What the log does not hold cannot be rebuilt: a call's `context` (the
 * gateway sets none) and user input declared by an adapter; a refusal of the enforcement point itself
 * (an agent's standing, a session of another agent) is taken over as recorded.
 */
import { SessionDataflow } from '../dataflow/session-dataflow.js';
import type { AuditEventV1, CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import { type Decision, DIAGNOSTIC_CODES, type Diagnostic, type DiagnosticCode } from '../spec/decision.js';
import type { HistoryEntry, SessionStatus, SessionView, ToolCall } from '../spec/tool-call.js';
import { type DecisionState, decideCall } from './decide-call.js';
import { observeOutput } from './observe-output.js';
import type { PreparedPolicy } from './prepared-policy.js';
import { type Reservation, WindowCounters } from './window-counters.js';

/** One record of the log, with its position. */
export interface TrafficRecord {
  readonly seq: number;
  readonly event: AuditEventV1;
}

/** A recorded call: its intent, and its outcome when the log has one (none: still in flight). */
export interface RecordedCall {
  readonly seq: number;
  readonly intent: CallIntentEvent;
  readonly outcome: CallOutcomeEvent | undefined;
}

interface ReplayedSession {
  readonly id: string;
  readonly agentId: string;
  status: SessionStatus;
  readonly startedAt: number;
  readonly history: HistoryEntry[];
}

/** What one policy keeps on its own: counters and data flow depend on the policy's rules and catalogue. */
class Lane {
  readonly counters = new WindowCounters();
  readonly flows = new Map<string, SessionDataflow>();
  readonly reservations = new Map<string, Reservation[]>();

  constructor(readonly policy: PreparedPolicy) {}

  flowOf(sessionId: string): SessionDataflow {
    let flow = this.flows.get(sessionId);
    if (flow === undefined) {
      flow = new SessionDataflow();
      this.flows.set(sessionId, flow);
    }
    return flow;
  }
}

interface PendingStart {
  readonly at: number;
  readonly sessionId: string;
  readonly decisionId: string;
  readonly entry: HistoryEntry;
}

export class RecordedTraffic {
  private readonly sessions = new Map<string, ReplayedSession>();
  private readonly lanes: readonly Lane[];
  /** Started calls whose history entry is due once the log reaches their start time. */
  private pending: PendingStart[] = [];
  private readonly entries = new Map<string, HistoryEntry>();
  private readonly intents = new Map<string, CallIntentEvent>();

  /** `policies`: one lane each; decisions are reported in this order. */
  constructor(policies: readonly PreparedPolicy[]) {
    this.lanes = policies.map((policy) => new Lane(policy));
  }

  /**
   * Feeds the records in log order. `onCall` hears every recorded call with each policy's decision,
   * made against the state as it was just before the call.
   */
  replay(
    records: readonly TrafficRecord[],
    onCall?: (call: RecordedCall, decisions: readonly Decision[]) => void,
  ): void {
    const outcomes = new Map<string, CallOutcomeEvent>();
    for (const { event } of records) if (event.kind === 'call-outcome') outcomes.set(event.decisionId, event);
    for (const { seq, event } of records) {
      const time = Date.parse(event.time);
      this.startDue(time);
      if (event.kind === 'call-intent') {
        const outcome = outcomes.get(event.decisionId);
        const decisions = this.decideRecorded(event, startOf(event, outcome, time) !== undefined, time);
        onCall?.({ seq, intent: event, outcome }, decisions);
        this.admit(event, outcome, time);
      } else if (event.kind === 'call-outcome') this.end(event);
      else if (event.kind === 'operator-action')
        this.applyAction(event.action, event.sessionId || event.target.id);
    }
  }

  /** The state a new call in `sessionId` would be decided against now, by the policy in lane `lane`. */
  stateFor(lane: number, sessionId: string, now: number): DecisionState {
    this.startDue(now);
    const chosen = this.lanes[lane];
    if (chosen === undefined) throw new RangeError(`no policy lane ${lane}`);
    const session = this.sessions.get(sessionId);
    const view: SessionView = session
      ? {
          id: session.id,
          status: session.status,
          startedAt: session.startedAt,
          history: session.history,
          labels: [],
        }
      : { id: sessionId, status: 'active', startedAt: now, history: [], labels: [] };
    return { session: view, counters: chosen.counters, dataflow: chosen.flowOf(sessionId) };
  }

  /** The agent a session belongs to, as its first recorded call says (undefined: not in the log). */
  agentOf(sessionId: string): string | undefined {
    return this.sessions.get(sessionId)?.agentId;
  }

  /** Each lane's decision of a recorded call, as if it were made again at its recorded time. */
  private decideRecorded(intent: CallIntentEvent, ran: boolean, now: number): Decision[] {
    const session = this.open(intent, now);
    const call: ToolCall = {
      principal: intent.principal,
      sessionId: intent.sessionId,
      tool: intent.tool,
      args: intent.args,
      context: {},
    };
    const refusal = deploymentRefusal(intent.decision.diagnostics);
    // placeholders are findings only where the screening put them: an agent may type the same text
    const recordedArgs = intent.decision.diagnostics.some((diagnostic) => REDACTED_ARGS.has(diagnostic.code));
    const view: SessionView = {
      id: session.id,
      status: session.status,
      startedAt: session.startedAt,
      history: session.history,
      labels: [],
    };
    return this.lanes.map((lane) => {
      const state = { session: view, counters: lane.counters, dataflow: lane.flowOf(intent.sessionId) };
      const decided = decideCall(lane.policy, { call, state, now, refusal, recordedArgs });
      // what really ran counts towards limits, even where this policy would have refused it
      const counts =
        decided.decision.effect === 'deny' && ran
          ? lane.policy.countsOf({
              call,
              session: view,
              counters: lane.counters,
              now,
              dataflow: state.dataflow,
            })
          : decided.counts;
      if (counts.length > 0)
        lane.reservations.set(
          intent.decisionId,
          counts.map((count) => lane.counters.reserve(count.key, now, count.amount)),
        );
      return decided.decision;
    });
  }

  /** A call that was started joins its session's history at its start time (pending until it ends). */
  private admit(intent: CallIntentEvent, outcome: CallOutcomeEvent | undefined, time: number): void {
    this.intents.set(intent.decisionId, intent);
    const at = startOf(intent, outcome, time);
    if (at === undefined) return;
    const entry: HistoryEntry = { tool: intent.tool, args: intent.args, at, outcome: 'pending' };
    this.pending.push({ at, sessionId: intent.sessionId, decisionId: intent.decisionId, entry });
    this.startDue(time);
  }

  private end(outcome: CallOutcomeEvent): void {
    const intent = this.intents.get(outcome.decisionId);
    if (intent === undefined) return; // its intent was pruned away: nothing to rebuild from
    this.startNow(outcome.decisionId);
    const entry = this.entries.get(outcome.decisionId);
    if (entry !== undefined) {
      entry.outcome = outcome.outcome === 'ok' ? 'ok' : 'error';
      this.entries.delete(outcome.decisionId);
    } else {
      // never started: what was reserved for it is given back, as the harness gives it back
      for (const lane of this.lanes)
        for (const reservation of lane.reservations.get(outcome.decisionId) ?? []) reservation.release();
    }
    for (const lane of this.lanes) {
      lane.reservations.delete(outcome.decisionId);
      if (outcome.outcome === 'ok' && outcome.result !== undefined)
        observeOutput(lane.policy, lane.flowOf(outcome.sessionId), intent, outcome.result);
    }
    this.intents.delete(outcome.decisionId);
  }

  private applyAction(action: string, sessionId: string): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined || session.status === 'killed') return;
    if (action === 'session.kill') session.status = 'killed';
    else if (action === 'session.pause') session.status = 'paused';
    else if (action === 'session.resume') session.status = 'active';
  }

  private open(intent: CallIntentEvent, now: number): ReplayedSession {
    let session = this.sessions.get(intent.sessionId);
    if (session === undefined) {
      session = {
        id: intent.sessionId,
        agentId: intent.principal.agentId,
        status: 'active',
        startedAt: now,
        history: [],
      };
      this.sessions.set(intent.sessionId, session);
    }
    return session;
  }

  /** Moves every started call whose start time has been reached into its session's history. */
  private startDue(time: number): void {
    if (this.pending.length === 0) return;
    const due = this.pending.filter((start) => start.at <= time);
    if (due.length === 0) return;
    this.pending = this.pending.filter((start) => start.at > time);
    for (const start of due.sort((left, right) => left.at - right.at)) this.start(start);
  }

  private startNow(decisionId: string): void {
    const start = this.pending.find((candidate) => candidate.decisionId === decisionId);
    if (start === undefined) return;
    this.pending = this.pending.filter((candidate) => candidate !== start);
    this.start(start);
  }

  private start(start: PendingStart): void {
    this.sessions.get(start.sessionId)?.history.push(start.entry);
    this.entries.set(start.decisionId, start.entry);
  }
}

/**
 * When the tool was started, if it was: the outcome's `startedAt`; for records written before that
 * field, `ok` and `error` outcomes ran (at the intent's time); a call still in flight that was allowed
 * is running (its outcome is not on record yet).
 */
function startOf(
  intent: CallIntentEvent,
  outcome: CallOutcomeEvent | undefined,
  time: number,
): number | undefined {
  if (outcome === undefined) return intent.decision.effect === 'allow' ? time : undefined;
  if (outcome.startedAt !== undefined) return Date.parse(outcome.startedAt);
  return outcome.outcome === 'ok' || outcome.outcome === 'error' ? time : undefined;
}

/** Diagnostics that say the recorded arguments were screened: their placeholders stand for findings. */
const REDACTED_ARGS: ReadonlySet<string> = new Set(['sensitive_input', 'input_redacted']);

/** The enforcement point's own refusal in a recorded decision, taken over as it was (not a policy's). */
function deploymentRefusal(diagnostics: CallIntentEvent['decision']['diagnostics']): Diagnostic | undefined {
  for (const { code, message } of diagnostics) {
    if (Object.hasOwn(DIAGNOSTIC_CODES, code) && DIAGNOSTIC_CODES[code as DiagnosticCode] === 'deployment')
      return { code: code as DiagnosticCode, message };
  }
  return undefined;
}
