/**
 * @module adapters/ai-sdk
 * Reins for the Vercel AI SDK 6 (`ai`): `governTools` wraps a record of `tool()` definitions so that
 * every execution is opened with Reins (decided and recorded before it runs), runs with the arguments
 * Reins gives, has its outcome reported, and hands the model only what Reins returns (filtered and
 * redacted). A denied call does not run; the model gets the reason as the tool result.
 *
 * A call Reins holds for a human maps onto the SDK's tool approval: `needsApproval` opens the call
 * (with the SDK's `toolCallId` as the call id) and answers true when Reins holds it, so the SDK returns
 * a `tool-approval-request`. The client's `tool-approval-response` is never the approval: when the SDK
 * then executes, the adapter opens the same call id again and runs the tool only if Reins says `ready`
 * (a human approved it in Reins, bound to the held arguments; other arguments under that id are
 * refused by Reins, a call that already ran does not run again). A client can only refuse. With
 * `approvals: 'wait'` the SDK is not asked and the execution waits for the human in Reins instead.
 *
 * A thin translation onto `runGoverned`: nothing here decides. No runtime import of `ai` is needed.
 */
import type { ModelMessage, Tool, ToolExecutionOptions, ToolSet } from 'ai';
import type { CallState, OpenCallRequest } from '../spec/remote-call.js';
import { GovernorError, refusalText, runGoverned, type ToolGovernor } from './governor.js';

/** A call Reins holds for a human (approve it with `reins approvals approve <call.id>` or the console). */
export interface HeldCall {
  readonly toolName: string;
  readonly toolCallId: string;
  readonly call: CallState;
}

/** What the application may declare for a call: the user's own request, as trusted input. */
export interface UserInputContext {
  readonly toolName: string;
  readonly toolCallId: string;
  readonly messages: ModelMessage[];
}

export interface GovernToolsOptions {
  /** `RemoteGovernor` (a Reins gateway) or `LocalGovernor` (in-process). */
  readonly governor: ToolGovernor;
  /** The server the policy names these tools under: tool `name` is governed as `server/name`. */
  readonly server: string;
  /**
   * `'sdk'` (default): a held call becomes a `tool-approval-request` of the SDK, and the execution after
   * the client's approval waits for Reins' answer. `'wait'`: no SDK approval; the execution waits.
   */
  readonly approvals?: 'sdk' | 'wait';
  /** How long an execution waits for a human in Reins; default until the call is decided or expires. */
  readonly waitTimeoutMs?: number;
  /** Told when Reins first answers that a call is held (once per call, not again at the execution). */
  readonly onHeld?: (held: HeldCall) => void | Promise<void>;
  /** The user's request behind a call, declared to Reins as trusted input before it decides. */
  readonly userInput?: (context: UserInputContext) => string | undefined;
}

/** The same tools, each governed by Reins as `server/<its key>`. */
export function governTools<TOOLS extends ToolSet>(tools: TOOLS, options: GovernToolsOptions): TOOLS {
  const governed = Object.entries(tools).map(([name, tool]) => [name, governTool(name, tool, options)]);
  return Object.fromEntries(governed) as TOOLS;
}

/** One tool governed by Reins as `server/name`. Throws for a tool this process does not execute. */
export function governTool<TOOL extends ToolSet[string]>(
  name: string,
  tool: TOOL,
  options: GovernToolsOptions,
): TOOL {
  if (!/^[^/]+$/.test(options.server))
    throw new TypeError(`Reins needs a server name without "/" for the tools (got "${options.server}")`);
  const source = tool as unknown as Tool<unknown, unknown>;
  if (typeof source.execute !== 'function')
    throw new TypeError(
      `Reins cannot govern the tool "${name}": it has no execute function (the client or the provider runs it)`,
    );
  const calls = new GovernedCalls(name, source, source.execute, options);
  const wrapped: Tool<unknown, unknown> = {
    ...source,
    execute: (input, context) => calls.execute(input, context),
  };
  if (options.approvals !== 'wait')
    wrapped.needsApproval = (input, context) => calls.needsApproval(input, context);
  if (source.toModelOutput) wrapped.toModelOutput = (output) => calls.toModelOutput(output);
  return wrapped as unknown as TOOL;
}

type Execute = NonNullable<Tool<unknown, unknown>['execute']>;
/** How many held calls a tool remembers having reported to `onHeld`. */
const MAX_TOLD = 1_000;

/** What the SDK passes to `needsApproval` (its `ToolNeedsApprovalFunction` options). */
type ApprovalContext = { toolCallId: string; messages: ModelMessage[]; experimental_context?: unknown };
type ModelOutputOptions = Parameters<NonNullable<Tool<unknown, unknown>['toModelOutput']>>[0];

/** The calls of one governed tool. */
class GovernedCalls {
  private readonly governor: ToolGovernor;
  /** The held calls `onHeld` was told about (the newest MAX_TOLD). */
  private readonly told = new Set<string>();
  /** Refusals handed to the model as results, by tool call id, until the tool's toModelOutput sees them. */
  private readonly refusals = new Map<string, string>();

  constructor(
    private readonly name: string,
    private readonly tool: Tool<unknown, unknown>,
    private readonly run: Execute,
    private readonly options: GovernToolsOptions,
  ) {
    this.governor = notifyingHeld(options.governor, (state, toolCallId) => {
      if (options.onHeld === undefined || this.told.has(state.id)) return;
      this.told.add(state.id);
      if (this.told.size > MAX_TOLD) this.told.delete(this.told.values().next().value as string);
      return options.onHeld({ toolName: name, toolCallId, call: state });
    });
  }

  /**
   * The SDK asks before it executes (and again before it executes an approved call): open the call and
   * answer whether Reins holds it. The tool's own `needsApproval` may only add an approval.
   */
  async needsApproval(input: unknown, context: ApprovalContext): Promise<boolean> {
    // the tool asks its own user first: Reins hears of the call only once it is to run, so a refusal
    // in the SDK leaves no call open at Reins (a held one is then waited for at execution)
    if (await ownApproval(this.tool, input, context)) return true;
    let state: CallState;
    try {
      state = await this.governor.open(this.request(input, context));
    } catch (error) {
      // The same call id with other arguments: let the execution report Reins' refusal to the model.
      if (isRefusal(error)) return true;
      throw error;
    }
    return state.effect === 'approve' || state.status === 'held';
  }

  /** Runs the tool only when Reins says so, with Reins' arguments; gives back what Reins returns. */
  async execute(input: unknown, context: ToolExecutionOptions): Promise<unknown> {
    let state: CallState;
    try {
      state = await runGoverned(
        this.governor,
        this.request(input, context),
        (args) => finalValue(this.run(args, context)),
        {
          ...(context.abortSignal ? { signal: context.abortSignal } : {}),
          ...(this.options.waitTimeoutMs !== undefined ? { waitTimeoutMs: this.options.waitTimeoutMs } : {}),
        },
      );
    } catch (error) {
      if (!isRefusal(error)) throw error;
      return this.refuse(context.toolCallId, `Reins refused this call: ${error.message}`);
    }
    if (state.status === 'completed') return state.output;
    return this.refuse(context.toolCallId, refusalText(state));
  }

  /** The tool's own conversion for what Reins returned; a refusal goes to the model as its text. */
  async toModelOutput(options: ModelOutputOptions) {
    const refusal = this.refusals.get(options.toolCallId);
    if (refusal === undefined)
      return (this.tool.toModelOutput as NonNullable<Tool['toModelOutput']>)(options);
    this.refusals.delete(options.toolCallId);
    return { type: 'text' as const, value: refusal };
  }

  private refuse(toolCallId: string, text: string): string {
    if (this.tool.toModelOutput) this.refusals.set(toolCallId, text);
    return text;
  }

  private request(
    input: unknown,
    context: { toolCallId: string; messages: ModelMessage[] },
  ): OpenCallRequest {
    const userInput = this.options.userInput?.({
      toolName: this.name,
      toolCallId: context.toolCallId,
      messages: context.messages,
    });
    return {
      tool: `${this.options.server}/${this.name}`,
      args: argsOf(this.name, input),
      callId: context.toolCallId,
      ...(userInput !== undefined ? { userInput } : {}),
    };
  }
}

/** The governor, telling `held` about every call it answers is held. */
function notifyingHeld(
  governor: ToolGovernor,
  held: (state: CallState, callId: string) => void | Promise<void> | undefined,
): ToolGovernor {
  return {
    open: async (request, signal) => {
      const state = await governor.open(request, signal);
      if (state.status === 'held') await held(state, request.callId ?? state.id);
      return state;
    },
    get: (id, signal) => governor.get(id, signal),
    wait: (id, options) => governor.wait(id, options),
    complete: (id, report, signal) => governor.complete(id, report, signal),
    cancel: (id, reason, signal) => governor.cancel(id, reason, signal),
  };
}

/** Reins refused the request itself (409: a call id reused with other arguments, an outcome out of turn). */
function isRefusal(error: unknown): error is GovernorError {
  return error instanceof GovernorError && error.status === 409;
}

async function ownApproval(tool: Tool<unknown, unknown>, input: unknown, context: ApprovalContext) {
  if (typeof tool.needsApproval === 'function') return tool.needsApproval(input, context);
  return tool.needsApproval === true;
}

function argsOf(name: string, input: unknown): Record<string, unknown> {
  if (typeof input === 'object' && input !== null && !Array.isArray(input))
    return input as Record<string, unknown>;
  throw new TypeError(`Reins governs tools called with an object; "${name}" was called with ${typeof input}`);
}

/** A tool's result: the last value of one that streams preliminary results (only that is reported). */
async function finalValue(result: unknown): Promise<unknown> {
  if (result === null || typeof result !== 'object' || !(Symbol.asyncIterator in result)) return result;
  let last: unknown;
  for await (const value of result as AsyncIterable<unknown>) last = value;
  return last;
}
