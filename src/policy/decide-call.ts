/**
 * @module policy/decide-call
 * The one decision entry point. Every place that decides a call — the harness (gateway, library,
 * replay), the decide API, `reins decide`, the policy test runner and `reins policy diff` — calls
 * `decideCall`, so they cannot drift apart: the rules (with the session, counters and data flow the
 * caller supplies, read-only), then the runtime monitor (policy/monitor), then the redaction screening of the arguments, then the counter
 * reservations the call makes if it goes ahead. Pure and synchronous; never throws.
 *
 * Where the state comes from is the caller's business (the harness's live sessions, or a session read
 * back from the audit log); what is done with the result too (the harness records and enforces it, a
 * dry run only reports it).
 */

import type { DataflowView } from '../spec/dataflow-view.js';
import type { Decision, Diagnostic, Obligation } from '../spec/decision.js';
import { describeError } from '../spec/errors.js';
import type { ReversalFacts } from '../spec/reversal.js';
import type { CounterView, SessionView, ToolCall } from '../spec/tool-call.js';
import { applyStop, type MonitorInput } from './monitor.js';
import type { PreparedPolicy } from './prepared-policy.js';
import { screenCall } from './screen-arguments.js';

/** What a decision may read about the past: the session, the limit counters, the data flow. */
export interface DecisionState {
  readonly session: SessionView;
  readonly counters: CounterView;
  /** What the session has seen (labels, value origins); none = nothing tracked. */
  readonly dataflow?: DataflowView | undefined;
  /** What the runtime monitor reads (the session's activity, the agent's baseline); none = not judged. */
  readonly monitor?: MonitorInput | undefined;
}

export interface CallDecisionRequest {
  /** A validated call (spec/tool-call). */
  readonly call: ToolCall;
  readonly state: DecisionState;
  /** Epoch milliseconds. */
  readonly now: number;
  /**
   * A refusal of the enforcement point made before the policy is asked (an agent's standing, a
   * session that belongs to another agent): the call is denied with it, and still screened, so that
   * what is recorded holds no secret.
   */
  readonly refusal?: Diagnostic | undefined;
  /** The arguments were read back from the audit log: placeholders count as what was redacted. */
  readonly recordedArgs?: boolean;
  /**
   * The call's reversibility once its captures are taken (policy/reversal `facts`); without it the
   * decision sees what the policy declares for the tool (dry runs, policy tests, replays).
   */
  readonly reversal?: ReversalFacts | undefined;
}

export type CountObligation = Extract<Obligation, { kind: 'count' }>;

export interface CallDecision {
  readonly decision: Decision;
  /** The call as it is recorded and shown (arguments redacted as the policy says). */
  readonly call: ToolCall;
  /** The arguments the tool runs with: redacted, or the originals when humans approve a held call. */
  readonly executeArgs: Record<string, unknown>;
  /** What the call adds to limit counters if it goes ahead (none when it is denied). */
  readonly counts: readonly CountObligation[];
}

export function decideCall(policy: PreparedPolicy, request: CallDecisionRequest): CallDecision {
  const { call, state, now } = request;
  let decision: Decision;
  try {
    decision =
      request.refusal !== undefined
        ? refusalDecision(policy.hash, request.refusal)
        : // a literal, not a spread: on the hot path a spread costs about a microsecond on Node 20
          policy.evaluate({
            call,
            session: state.session,
            counters: state.counters,
            now,
            dataflow: state.dataflow,
            reversal: request.reversal,
          });
    // the monitor judges what the rules decided (a denial counts towards a denial spike)
    // (a stop the log holds applies even when no monitor rule watches the agent any more)
    if (request.refusal === undefined && state.monitor !== undefined)
      decision =
        policy.monitor !== undefined
          ? policy.monitor.judge(decision, call, state.monitor, now)
          : applyStop(decision, state.monitor.stop);
  } catch (error) {
    // evaluate and judge never throw; reading the caller's state might
    decision = refusalDecision(policy.hash, {
      code: 'internal_error',
      message: `decision failed: ${describeError(error)}`,
    });
  }
  const screened = screenCall(policy.redaction, call, decision, request.recordedArgs ?? false);
  const counts: CountObligation[] = [];
  for (const obligation of screened.decision.obligations)
    if (obligation.kind === 'count') counts.push(obligation);
  return { decision: screened.decision, call: screened.call, executeArgs: screened.executeArgs, counts };
}

/** A deny decided outside the rules (before them, or around them), in the policy's Decision shape. */
export function refusalDecision(policyHash: string, diagnostic: Diagnostic): Decision {
  return {
    effect: 'deny',
    matchedRules: [],
    reasons: [diagnostic.message],
    decidedBy: [`reins.${diagnostic.code}`],
    obligations: [],
    policyHash,
    diagnostics: [diagnostic],
  };
}
