/**
 * @module examples/demo/agent-invokers
 * The two ways a scripted agent's tool calls are carried out: directly (the tool just runs, as without
 * Reins) or through `Harness.call` (decided, recorded, maybe held). The agent script is the same in both,
 * so the difference in what happens is Reins and nothing else.
 */
import type { CallResult, Harness, Principal, ToolExecutor, ToolRef } from 'reins';
import type { DecisionLabel } from './demo-output.js';
import { decisionLine, detailLine } from './demo-output.js';
import type { GovernedCall } from './demo-scenario.js';

export interface AgentStep {
  /** What the agent is trying to do, in words; printed before the decision when given. */
  readonly label?: string;
  readonly tool: ToolRef;
  readonly args: Record<string, unknown>;
  /** Describes the tool's output in a few words for the decision line. */
  readonly describe?: (output: unknown) => string;
}

/** What the agent gets back: the output, or why the call did not run (as a real agent would see it). */
export type StepResult =
  | { readonly ran: true; readonly output: unknown }
  | { readonly ran: false; readonly reason: string };

export type InvokeTool = (step: AgentStep) => Promise<StepResult>;

export interface InvokerOptions {
  readonly principal: Principal;
  /** Executors by tool name. */
  readonly tools: Readonly<Record<string, ToolExecutor>>;
  readonly write: (line: string) => void;
  /** Width of the tool column of decision lines. */
  readonly toolWidth: number;
}

export function toolLabel(tool: ToolRef): string {
  return `${tool.server}/${tool.name}`;
}

function executorFor(options: InvokerOptions, tool: ToolRef): ToolExecutor {
  const executor = options.tools[tool.name];
  if (executor === undefined) throw new Error(`the demo has no tool \`${toolLabel(tool)}\``);
  return executor;
}

/** Without Reins: every call runs; nothing decides, nothing is recorded. */
export function directInvoker(options: InvokerOptions): InvokeTool {
  return async (step) => {
    if (step.label !== undefined) options.write(`  ${step.label}`);
    const line = (note: string) =>
      decisionLine('RAN', toolLabel(step.tool), options.toolWidth, options.principal.agentId, note);
    try {
      // without Reins there is no decision: the tool runs on the agent's say-so
      const output = await executorFor(options, step.tool)(step.args, {
        signal: new AbortController().signal,
        decisionId: 'none',
      });
      options.write(line(`nobody checked; ${step.describe?.(output) ?? 'done'}`));
      return { ran: true, output };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      options.write(line(`failed: ${reason}`));
      return { ran: false, reason };
    }
  };
}

export interface GovernedInvokerOptions extends InvokerOptions {
  readonly harness: Harness;
  readonly sessionId: string;
  /** Every call made is appended here, for the scenario's checks and audit trail. */
  readonly calls: GovernedCall[];
}

const LABELS: Record<CallResult['decision']['effect'], DecisionLabel> = {
  allow: 'ALLOW',
  deny: 'DENY',
  approve: 'HOLD',
};

/**
 * With Reins: every call goes through the harness. A held call's HOLD line is printed by the approval
 * handler while the call waits, so here only its ending (approved, refused, expired) is added.
 */
export function governedInvoker(options: GovernedInvokerOptions): InvokeTool {
  return async (step) => {
    if (step.label !== undefined) options.write(`  ${step.label}`);
    const result = await options.harness.call(
      { principal: options.principal, sessionId: options.sessionId, tool: step.tool, args: step.args },
      executorFor(options, step.tool),
    );
    const { decision } = result;
    options.calls.push({
      decisionId: result.decisionId,
      tool: toolLabel(step.tool),
      effect: decision.effect,
      outcome: result.outcome,
      matchedRules: decision.matchedRules,
      reasons: decision.reasons,
    });
    const ending = describeEnding(result, step);
    if (decision.effect === 'approve') {
      options.write(detailLine(result.status === 'ok' ? `APPROVED → ${ending}` : ending));
    } else {
      const note =
        result.status === 'ok' ? `${decision.reasons.join('; ')}  → ${ending}` : decision.reasons.join('; ');
      options.write(
        decisionLine(
          LABELS[decision.effect],
          toolLabel(step.tool),
          options.toolWidth,
          options.principal.agentId,
          note,
        ),
      );
      // an allowed call can still fail; that is worth its own line
      if (decision.effect === 'allow' && result.status !== 'ok') options.write(detailLine(ending));
    }
    if (result.status === 'ok') return { ran: true, output: result.output };
    return { ran: false, reason: result.status === 'denied' ? result.reason : result.error };
  };
}

function describeEnding(result: CallResult, step: AgentStep): string {
  if (result.status === 'ok') return step.describe?.(result.output) ?? 'done';
  if (result.status === 'error') return `FAILED: ${result.error}`;
  return `${result.outcome.toUpperCase()}: ${result.reason}; the tool did not run`;
}
