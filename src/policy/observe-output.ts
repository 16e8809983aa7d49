/**
 * @module policy/observe-output
 * What a session learns from an output the agent saw: its values and labels go into the session's data
 * flow, as the policy's catalogue describes the tool (trusted or not, what the output holds). One
 * function for the harness (live outputs), replay (outputs a trace shows) and the recorded traffic of
 * the audit log, so the data flow of a session is rebuilt exactly as it was built.
 */
import type { SessionDataflow } from '../dataflow/session-dataflow.js';
import type { ToolRef } from '../spec/tool-call.js';
import type { PreparedPolicy } from './prepared-policy.js';

/**
 * Records `output` of the call `decisionId` in `flow`. An output that cannot be indexed marks the
 * session's data flow incomplete: flow rules then refuse every value they cannot clear (fail closed).
 */
export function observeOutput(
  policy: PreparedPolicy,
  flow: SessionDataflow,
  call: {
    readonly decisionId: string;
    readonly tool: ToolRef;
    readonly args: Readonly<Record<string, unknown>>;
    readonly sessionId?: string;
  },
  output: unknown,
): void {
  const source = {
    decisionId: call.decisionId,
    tool: `${call.tool.server}/${call.tool.name}`,
    ...(call.sessionId !== undefined ? { sessionId: call.sessionId } : {}),
  };
  const description = policy.toolDataflow(call.tool);
  if (description === undefined) {
    // for provenance links only: no flow rule reads it, so a failure here changes no decision
    try {
      flow.recordUndeclaredOutput(source, output);
    } catch {}
    return;
  }
  try {
    flow.recordOutput(
      source,
      output,
      { untrusted: description.untrustedOutput, spec: description.output },
      call.args,
    );
  } catch {
    flow.markIncomplete();
  }
}
