/**
 * @module inspect/dry-run
 * A dry run of one call, as the gateway of the same deployment would decide it now: through the one
 * decision entry point (policy/decide-call), against the state of the session the call names, read
 * back from the deployment's audit log (its history, data flow and the limit counters of the last
 * window; nothing is changed). A session the log has never seen starts fresh, as decision 0009 says.
 * Used by `POST /v1/decide` and `reins decide`.
 */
import { decideCall } from '../policy/decide-call.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { RecordedTraffic } from '../policy/recorded-traffic.js';
import type { Decision, Diagnostic } from '../spec/decision.js';
import type { SessionStatus, ToolCall } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import { readSessionTraffic } from './recorded-traffic-reader.js';

export interface DryRunRequest {
  readonly call: ToolCall;
  /** Epoch milliseconds. */
  readonly now: number;
  /** The deployment's audit log; without one the session starts fresh. */
  readonly log?: AuditLog;
  /** The session's status as the session store has it (it wins over what the log shows). */
  readonly status?: SessionStatus;
  /** The harness's cap on a session's calls, if it has one (none by default, decision 0020). */
  readonly maxSessionHistory?: number;
}

export async function dryRun(policy: PreparedPolicy, request: DryRunRequest): Promise<Decision> {
  const { call, now } = request;
  const traffic = new RecordedTraffic([policy]);
  if (request.log !== undefined)
    traffic.replay(await readSessionTraffic(request.log, call.sessionId, now, policy.longestLimitWindowMs));
  const state = traffic.stateFor(0, call.sessionId, now);
  const session = request.status === undefined ? state.session : { ...state.session, status: request.status };
  const owner = traffic.agentOf(call.sessionId);
  const maxHistory = request.maxSessionHistory;
  // the harness's own refusals, as it makes them (harness checkSession)
  let refusal: Diagnostic | undefined;
  if (owner !== undefined && owner !== call.principal.agentId)
    refusal = {
      code: 'session_agent_mismatch',
      message: `session \`${call.sessionId}\` belongs to agent \`${owner}\`, not \`${call.principal.agentId}\``,
    };
  else if (maxHistory !== undefined && session.history.length >= maxHistory)
    refusal = {
      code: 'session_history_full',
      message: `session \`${call.sessionId}\` reached ${maxHistory} calls: start a new session`,
    };
  return decideCall(policy, { call, state: { ...state, session }, now, refusal }).decision;
}
