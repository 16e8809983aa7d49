/**
 * @module policy/policy-diff
 * Policy CI: which recorded calls a candidate policy would decide differently from the base policy.
 * Both decide every recorded call against the session state as it was (policy/recorded-traffic), so
 * a difference is the policies' doing, not the replay's. The base is also compared with what was
 * recorded: a base that does not reproduce the log (it is not the policy that recorded it, or the
 * decision depended on something the log does not hold) is reported as drift, so a clean diff can be
 * trusted.
 */
import type { Decision } from '../spec/decision.js';
import type { Effect } from '../spec/policy-document.js';
import type { PreparedPolicy } from './prepared-policy.js';
import { type RecordedCall, RecordedTraffic, type TrafficRecord } from './recorded-traffic.js';

/** One call decided differently. */
export interface DecisionChange {
  readonly seq: number;
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  /** `server/name`. */
  readonly tool: string;
  readonly time: string;
  readonly recorded: Effect;
  readonly base: DecisionSummary;
  readonly candidate: DecisionSummary;
}

export interface DecisionSummary {
  readonly effect: Effect;
  readonly decidedBy: readonly string[];
  readonly reasons: readonly string[];
}

export interface PolicyDiffReport {
  readonly calls: number;
  /** Calls the candidate decides differently from the base. */
  readonly changes: readonly DecisionChange[];
  /** Changes counted by the rules that decide the candidate's effect, and by tool. */
  readonly byRule: Readonly<Record<string, number>>;
  readonly byTool: Readonly<Record<string, number>>;
  /** Calls the base itself decides differently from the record (see the module comment). */
  readonly drift: readonly DecisionChange[];
  /** Recorded calls decided by a policy whose hash is not the base's. */
  readonly otherPolicy: number;
}

export function diffPolicies(
  records: readonly TrafficRecord[],
  base: PreparedPolicy,
  candidate: PreparedPolicy,
): PolicyDiffReport {
  const changes: DecisionChange[] = [];
  const drift: DecisionChange[] = [];
  const byRule: Record<string, number> = {};
  const byTool: Record<string, number> = {};
  let calls = 0;
  let otherPolicy = 0;
  new RecordedTraffic([base, candidate]).replay(records, (call, [baseDecision, candidateDecision]) => {
    if (baseDecision === undefined || candidateDecision === undefined) return;
    calls++;
    if (call.intent.decision.policyHash !== base.hash) otherPolicy++;
    const change = changeOf(call, baseDecision, candidateDecision);
    if (baseDecision.effect !== call.intent.decision.effect) drift.push(change);
    if (candidateDecision.effect === baseDecision.effect) return;
    changes.push(change);
    for (const rule of new Set(candidateDecision.decidedBy)) byRule[rule] = (byRule[rule] ?? 0) + 1;
    byTool[change.tool] = (byTool[change.tool] ?? 0) + 1;
  });
  return { calls, changes, byRule, byTool, drift, otherPolicy };
}

function changeOf(call: RecordedCall, base: Decision, candidate: Decision): DecisionChange {
  const { intent } = call;
  return {
    seq: call.seq,
    decisionId: intent.decisionId,
    sessionId: intent.sessionId,
    agentId: intent.principal.agentId,
    tool: `${intent.tool.server}/${intent.tool.name}`,
    time: intent.time,
    recorded: intent.decision.effect,
    base: summary(base),
    candidate: summary(candidate),
  };
}

function summary(decision: Decision): DecisionSummary {
  return { effect: decision.effect, decidedBy: decision.decidedBy, reasons: decision.reasons };
}
