/**
 * @module policy/session-projection
 * What one session did, rebuilt from its audit records: the state its next decision reads (decision
 * 0020). The audit log is the one record of a session's past, shared by every process and replica on
 * the store; a process keeps this projection as a cache and brings it up to date by applying the
 * records appended since (`apply`, in log order, each at most once).
 *
 * - History (sequence rules): a call joins when it was let through — an allowed call at its intent,
 *   pending until its outcome; a held or overridden call when its outcome says the tool was started —
 *   and leaves again if its outcome says it never started.
 * - Activity (the runtime monitor): every call decided, with the size of its result, and a monitor
 *   finding that stopped the session until an operator resumed it (policy/monitor-activity).
 * - Data flow (flow rules, labels, provenance links): the user's request declared with a call (its
 *   intent's `provenance.request`) and every output the agent saw, indexed as the policy's catalogue
 *   describes the tool (policy/observe-output, as live calls and recorded traffic do).
 *
 * The projection depends on the policy (its catalogue says how outputs are indexed): one per policy.
 */
import { SessionDataflow } from '../dataflow/session-dataflow.js';
import type { AuditEventV1, CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import type { HistoryEntry } from '../spec/tool-call.js';
import { ActivityTrail } from './monitor-activity.js';
import { observeOutput } from './observe-output.js';
import type { PreparedPolicy } from './prepared-policy.js';

interface OpenCall {
  readonly intent: CallIntentEvent;
  /** Its history entry, once the call is in the history. */
  entry: HistoryEntry | undefined;
}

export class SessionProjection {
  /** The agent of the session's first recorded call. */
  agentId: string | undefined;
  /** Epoch ms of the session's first recorded call. */
  startedAt: number | undefined;
  /** The last record applied (log sequence number). */
  lastSeq = 0;
  readonly history: HistoryEntry[] = [];
  readonly dataflow = new SessionDataflow();
  /** Every call decided in the session and whether the monitor stopped it (policy/monitor-activity). */
  readonly activity = new ActivityTrail();
  /** Calls whose outcome is not on record yet. */
  private readonly open = new Map<string, OpenCall>();

  constructor(
    readonly sessionId: string,
    readonly policy: PreparedPolicy,
  ) {}

  /** Applies one record of the session; records at or before `lastSeq` were applied already. */
  apply(seq: number, event: AuditEventV1): void {
    if (seq <= this.lastSeq) return;
    this.lastSeq = seq;
    if (event.kind === 'call-intent' && event.sessionId === this.sessionId) this.admit(event);
    else if (event.kind === 'call-outcome' && event.sessionId === this.sessionId) this.end(event);
    else if (event.kind === 'operator-action' && event.sessionId === this.sessionId)
      this.activity.operatorAction(event);
  }

  private admit(intent: CallIntentEvent): void {
    const time = Date.parse(intent.time);
    this.agentId ??= intent.principal.agentId;
    this.startedAt ??= time;
    // the user's request declared with the call is the session's from then on, in every process
    const request = intent.provenance?.request;
    if (request !== undefined) this.dataflow.recordUserInput(request.text, intent.decisionId);
    this.activity.admit(intent);
    const call: OpenCall = { intent, entry: undefined };
    if (intent.decision.effect === 'allow') {
      call.entry = { tool: intent.tool, args: intent.args, at: time, outcome: 'pending' };
      this.history.push(call.entry);
    }
    this.open.set(intent.decisionId, call);
  }

  private end(outcome: CallOutcomeEvent): void {
    this.activity.end(outcome);
    const call = this.open.get(outcome.decisionId);
    if (call === undefined) return; // its intent came before this projection's records (pruned)
    this.open.delete(outcome.decisionId);
    const { intent } = call;
    const started = startedAt(intent, outcome);
    if (started === undefined) {
      if (call.entry !== undefined) this.history.splice(this.history.lastIndexOf(call.entry), 1);
    } else {
      const entry = call.entry ?? { tool: intent.tool, args: intent.args, at: started, outcome: 'pending' };
      if (call.entry === undefined) this.history.push(entry);
      entry.at = started;
      entry.outcome = outcome.outcome === 'ok' ? 'ok' : 'error';
    }
    if (outcome.outcome === 'ok' && outcome.result !== undefined)
      observeOutput(this.policy, this.dataflow, intent, outcome.result);
  }
}

/**
 * When the tool was started, if it was: the outcome's `startedAt`; for records written before that
 * field, `ok` and `error` outcomes ran (at the intent's time).
 */
export function startedAt(intent: CallIntentEvent, outcome: CallOutcomeEvent): number | undefined {
  if (outcome.startedAt !== undefined) return Date.parse(outcome.startedAt);
  return outcome.outcome === 'ok' || outcome.outcome === 'error' ? Date.parse(intent.time) : undefined;
}
