/**
 * @module adapters/langchain
 * `reins/langchain`: every tool call of a LangChain.js v1 agent (`createAgent`) goes through Reins, by
 * an agent middleware (`wrapToolCall`). The call is opened with Reins under the tool call's id before
 * anything runs; the tool runs only when Reins says `ready`, with exactly the arguments Reins gave; the
 * model sees Reins' filtered, redacted output, or the reason the call did not run.
 *
 * A held call becomes a LangGraph `interrupt()`: the run stops (a checkpointer is required) and is
 * resumed with `new Command({ resume })` once a human decided in Reins. The resume value is ignored: on
 * the re-run, the node opens the call again with the same tool call id, and Reins alone says whether it
 * was approved (`ready`), is still held (another interrupt), or was refused. Since an interrupted node
 * runs again from the start, everything here is idempotent per tool call id: Reins returns the same
 * call, and a completed one is returned as recorded, never executed twice.
 *
 * A thin translation onto `runGoverned`: nothing here decides anything.
 */
import { createMiddleware, type ToolCallHandler, type ToolCallRequest, ToolMessage } from 'langchain';
import { type CallState, MAX_USER_INPUT_LENGTH, type OpenCallRequest } from '../spec/remote-call.js';
import { GovernorError, refusalText, runGoverned, type ToolGovernor } from './governor.js';

export interface ReinsMiddlewareOptions {
  readonly governor: ToolGovernor;
  /** The server name the tools are governed under: tool `search` is `${server}/search` in the policy. */
  readonly server: string;
  /**
   * A held call: `interrupt` (default) stops the run with a LangGraph interrupt, to be resumed once a
   * human decided in Reins; `wait` blocks the tool call until they decide (no checkpointer needed).
   */
  readonly onHeld?: 'interrupt' | 'wait';
  /** `wait`: give up after this long; the model is told the call is still held. Default: no limit. */
  readonly waitTimeoutMs?: number;
  /**
   * The user's own request, declared to Reins as trusted input before each call is decided. Default:
   * the text of the latest human message in the agent's state; `false` declares nothing.
   */
  readonly userInput?: false | ((request: ToolCallRequest) => string | undefined);
  /**
   * The key Reins makes the call idempotent by, within the agent's session. Default: the tool call's
   * id. A model that reuses ids across turns (`call_0` every time) needs a key unique to the turn, or
   * a later call would be answered with an earlier call's record.
   */
  readonly callId?: (request: ToolCallRequest) => string | undefined;
  /** The middleware's name in the agent (default `ReinsMiddleware`). */
  readonly name?: string;
}

/** The value of the interrupt a held call raises (`result.__interrupt__[i].value`). */
export interface ReinsHeldInterrupt {
  readonly type: 'reins/held';
  /** The Reins call (its decision id): `reins approvals approve <callId>` decides it. */
  readonly callId: string;
  readonly toolCallId?: string;
  /** `server/name`. */
  readonly tool: string;
  readonly reason?: string;
  readonly expiresAt?: string;
}

/** What the returned ToolMessage carries besides its content (`artifact`, never sent to the model). */
export interface ReinsToolArtifact {
  readonly reins: { readonly callId: string; readonly status: CallState['status'] };
}

type Handler = ToolCallHandler;
type Request = ToolCallRequest;

/** The agent middleware: pass it in `createAgent({ middleware: [...] })`, best last (innermost). */
export function reinsMiddleware(options: ReinsMiddlewareOptions) {
  return createMiddleware({
    name: options.name ?? 'ReinsMiddleware',
    wrapToolCall: (request, handler) => governToolCall(options, request, handler),
  });
}

/** One tool call, governed: the body of the middleware's `wrapToolCall`. */
export async function governToolCall(
  options: ReinsMiddlewareOptions,
  request: Request,
  handler: Handler,
): Promise<ToolMessage> {
  const open = openRequest(options, request);
  const waits = options.onHeld === 'wait';
  for (;;) {
    let state: CallState;
    try {
      state = await runPassingInterrupts(options, open, request, (args) => execute(request, handler, args));
    } catch (error) {
      // Reins refused the request itself (a call id reused for other arguments, a call that is not
      // ready): the model is told, the run goes on, and nothing ran
      if (!(error instanceof GovernorError) || error.status !== 409) throw error;
      return refusedMessage(request, `Reins refused this call (${error.code}): ${error.message}`);
    }
    // Without a tool call id, a re-run would open a new call: nothing to resume.
    if (state.status !== 'held' || waits || open.callId === undefined) return toolMessage(request, state);
    interruptFor(request, state);
  }
}

function openRequest(options: ReinsMiddlewareOptions, request: Request): OpenCallRequest {
  const { toolCall } = request;
  const callId = options.callId ? options.callId(request) : toolCall.id;
  const userInput = options.userInput === false ? undefined : (options.userInput ?? latestHumanText)(request);
  return {
    tool: `${options.server}/${toolCall.name}`,
    args: toolCall.args,
    ...(callId ? { callId } : {}),
    ...(userInput ? { userInput: userInput.slice(0, MAX_USER_INPUT_LENGTH) } : {}),
  };
}

/** The text of the latest human message in the agent's state. */
export function latestHumanText(request: Request): string | undefined {
  const messages = request.state.messages ?? [];
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.getType() === 'human') return message.text || undefined;
  }
  return undefined;
}

/**
 * `runGoverned`, except that a LangGraph interrupt raised inside the tool (or an inner middleware)
 * propagates instead of being reported as a failure: the call stays `ready` at Reins, and on resume
 * the node re-runs, Reins returns the same ready call, and the tool runs on to its answer.
 */
function runPassingInterrupts(
  options: ReinsMiddlewareOptions,
  open: OpenCallRequest,
  request: Request,
  run: (args: Record<string, unknown>) => Promise<unknown>,
): Promise<CallState> {
  const signal = request.runtime.signal;
  return runGoverned(options.governor, open, run, {
    waitForApproval: options.onHeld === 'wait',
    passThrough: isGraphInterrupt,
    ...(signal ? { signal } : {}),
    ...(options.waitTimeoutMs !== undefined ? { waitTimeoutMs: options.waitTimeoutMs } : {}),
  });
}

/** LangGraph's own test (`isGraphInterrupt`), by name: the adapter does not import LangGraph. */
function isGraphInterrupt(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'GraphInterrupt' || name === 'NodeInterrupt';
}

/** Runs the tool (through the inner handlers) with Reins' arguments; resolves with what to report. */
async function execute(request: Request, handler: Handler, args: Record<string, unknown>): Promise<unknown> {
  const result = await handler({ ...request, toolCall: { ...request.toolCall, args } });
  if (!ToolMessage.isInstance(result))
    throw new Error('the tool answered with a graph command (a state update) that Reins cannot screen');
  if (result.status === 'error') throw new Error(result.text);
  return decodeJson(result.content);
}

/** LangChain turns a tool's object result into JSON text; Reins screens it as the object it was. */
function decodeJson(content: unknown): unknown {
  if (typeof content !== 'string' || !/^\s*[[{]/.test(content)) return content;
  try {
    return JSON.parse(content);
  } catch {
    return content;
  }
}

/** Stops the run with an interrupt the first time; returns once the run is resumed. */
function interruptFor(request: Request, state: CallState): void {
  const interrupt = request.runtime.interrupt;
  if (typeof interrupt !== 'function')
    throw new Error('Reins held a tool call, and this run cannot be interrupted (use onHeld: "wait")');
  const value: ReinsHeldInterrupt = {
    type: 'reins/held',
    callId: state.id,
    tool: state.tool,
    ...(request.toolCall.id ? { toolCallId: request.toolCall.id } : {}),
    ...(state.reason ? { reason: state.reason } : {}),
    ...(state.expiresAt ? { expiresAt: state.expiresAt } : {}),
  };
  interrupt(value);
}

/** What the model is given: Reins' output of a completed call, otherwise why there is none. */
function toolMessage(request: Request, state: CallState): ToolMessage {
  const completed = state.status === 'completed';
  const artifact: ReinsToolArtifact = { reins: { callId: state.id, status: state.status } };
  return new ToolMessage({
    content: completed ? outputText(state.output) : refusalText(state),
    tool_call_id: request.toolCall.id ?? '',
    name: request.toolCall.name,
    status: completed ? 'success' : 'error',
    artifact,
  });
}

function refusedMessage(request: Request, text: string): ToolMessage {
  return new ToolMessage({
    content: text,
    tool_call_id: request.toolCall.id ?? '',
    name: request.toolCall.name,
    status: 'error',
  });
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  return output === undefined ? '' : JSON.stringify(output);
}
