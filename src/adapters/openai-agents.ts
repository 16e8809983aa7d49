/**
 * @module adapters/openai-agents
 * `reins/openai-agents`: Reins governs the function tools of an OpenAI Agents SDK (`@openai/agents`)
 * agent. A thin translation onto a `ToolGovernor` (remote by default, or in-process), never a second
 * decision path:
 *
 * - `needsApproval` of a governed tool opens the call with Reins (tool `server/name`, the model's
 *   arguments, the SDK's tool-call id as `callId`): a call Reins holds for a human interrupts the run
 *   (`result.interruptions`, a `RunState` that can be serialised and resumed in another process);
 *   every other call goes on to execution.
 * - At execution the tool opens the call again under the same `callId` (the same call on the server)
 *   and runs `runGoverned`: the tool runs only when Reins says `ready`, with exactly the arguments Reins
 *   gives; the model sees Reins' filtered, redacted output, or the reason a call did not run.
 * - `applyReinsDecisions(state)` turns Reins' decisions into the SDK's: for each interruption of a
 *   governed tool it asks Reins (open with the same `callId`) and approves the SDK interruption when
 *   Reins lets the call run, rejects it with Reins' reason when Reins refused it, and leaves it pending
 *   while a human has not decided. An approval given in the SDK alone counts for nothing: a call Reins
 *   still holds does not run, and arguments altered in a serialised state are refused by Reins.
 */
import {
  type FunctionTool,
  type RunToolApprovalItem,
  type ToolInputParameters,
  type ToolOptions,
  type ToolOutputSchema,
  tool,
} from '@openai/agents';
import type { CallState } from '../spec/remote-call.js';
import { GovernorError, refusalText, runGoverned, type ToolGovernor } from './governor.js';

/** The details the SDK gives a function tool's `invoke` (the tool call, its abort signal). */
type ToolCallDetails = Parameters<FunctionTool['invoke']>[2];

export interface ReinsToolOptions {
  readonly governor: ToolGovernor;
  /** The server the policy names these tools under: a tool's Reins name is `${server}/${tool.name}`. */
  readonly server: string;
  /**
   * What a call Reins holds for a human does: `interrupt` (default) ends the run with an SDK
   * interruption, to resume once a human decided in Reins; `wait` keeps the run waiting inside the
   * tool call until Reins decides (or `waitTimeoutMs` passes; the model is then told it is held).
   * A tool's own `timeoutMs` bounds that wait too: the SDK times the whole governed call.
   */
  readonly whenHeld?: 'interrupt' | 'wait';
  readonly waitTimeoutMs?: number;
}

interface Binding {
  readonly options: ReinsToolOptions;
  readonly ref: string;
}

/** The governed tools this module made, so that `applyReinsDecisions` finds the governor of each. */
const GOVERNED = new WeakMap<object, Binding>();

/**
 * Governs an SDK function tool: the returned tool asks Reins before it runs and gives the model only
 * what Reins lets through. Its own `needsApproval` is replaced (Reins' policy decides what is held).
 * A tool made with the SDK's `tool()` turns its own failures into text by default, which Reins would
 * record as a success: create it with `errorFunction: null`, or use `reinsTool`, which does.
 */
export function governTool<TContext, TParameters extends ToolInputParameters, TResult>(
  functionTool: FunctionTool<TContext, TParameters, TResult>,
  options: ReinsToolOptions,
): FunctionTool<TContext, TParameters, TResult> {
  const binding: Binding = { options, ref: `${options.server}/${functionTool.name}` };
  const inner = functionTool.invoke;
  // A copy that keeps the tool's prototype, symbols and accessors (as the SDK's own clones do).
  const governed: FunctionTool<TContext, TParameters, TResult> = Object.create(
    Object.getPrototypeOf(functionTool),
    Object.getOwnPropertyDescriptors(functionTool),
  );
  governed.needsApproval = (_context, input, callId) => needsReinsApproval(binding, input, callId);
  // What the model sees is Reins' view of the result (filtered, maybe redacted), typed as the tool's.
  governed.invoke = async (context, input, details) =>
    (await invokeGoverned(binding, input, details, (args) =>
      inner(context, JSON.stringify(args), details),
    )) as TResult;
  GOVERNED.set(governed, binding);
  return governed;
}

/**
 * The SDK's `tool()` under Reins: the same options (its `needsApproval` and `errorFunction` aside, since
 * Reins decides what is held and the model sees Reins' screened error when the tool fails).
 */
export function reinsTool<
  TParameters extends ToolInputParameters = undefined,
  TContext = unknown,
  TOutputSchema extends ToolOutputSchema | undefined = undefined,
>(
  options: ReinsToolOptions,
  toolOptions: ToolOptions<TParameters, TContext, TOutputSchema>,
): FunctionTool<TContext, TParameters, unknown> {
  const definition = { ...toolOptions, needsApproval: false, errorFunction: null } as typeof toolOptions;
  return governTool(tool(definition), options);
}

/** `needsApproval`: opens the call with Reins; true (interrupt the run) only when Reins holds it. */
async function needsReinsApproval(binding: Binding, input: unknown, callId?: string): Promise<boolean> {
  if (binding.options.whenHeld === 'wait' || callId === undefined || !isArgs(input)) return false;
  try {
    const state = await binding.options.governor.open({ tool: binding.ref, args: input, callId });
    return state.status === 'held';
  } catch (error) {
    // A refusal of the protocol is answered to the model at execution, where the call is opened again.
    if (error instanceof GovernorError) return false;
    throw error;
  }
}

/**
 * The governed execution: opens the call again (same `callId`, so the same call on the server), runs
 * `execute` only when Reins says `ready`, and answers what the model may see.
 */
async function invokeGoverned(
  binding: Binding,
  input: string,
  details: ToolCallDetails | undefined,
  execute: (args: Record<string, unknown>) => Promise<unknown>,
): Promise<unknown> {
  const args = parseArgs(input);
  if (args === undefined) return 'Reins refused this call: its arguments are not a JSON object';
  const callId = details?.toolCall?.callId;
  const waiting = binding.options.whenHeld === 'wait';
  try {
    const state = await runGoverned(
      binding.options.governor,
      { tool: binding.ref, args, ...(callId !== undefined ? { callId } : {}) },
      execute,
      {
        waitForApproval: waiting,
        ...(details?.signal ? { signal: details.signal } : {}),
        ...(waiting && binding.options.waitTimeoutMs !== undefined
          ? { waitTimeoutMs: binding.options.waitTimeoutMs }
          : {}),
      },
    );
    return modelView(state);
  } catch (error) {
    if (error instanceof GovernorError) return `Reins refused this call (${error.code}): ${error.message}`;
    throw error;
  }
}

/** What the model is given for a call in its final state. */
function modelView(state: CallState): unknown {
  return state.status === 'completed' ? (state.output ?? '') : refusalText(state);
}

/** What `applyReinsDecisions` did with one interruption of the run. */
export interface AppliedDecision {
  readonly item: RunToolApprovalItem;
  /**
   * - `approved`: Reins lets the call run (its execution asks Reins again);
   * - `rejected`: Reins refused it; the model receives the reason;
   * - `held`: a human has not decided in Reins yet; the interruption is left pending;
   * - `not-governed`: not a tool governed by Reins; left to the application.
   */
  readonly outcome: 'approved' | 'rejected' | 'held' | 'not-governed';
  /** Reins' state of the call, when Reins was asked. */
  readonly call?: CallState;
}

export interface AppliedDecisions {
  readonly decisions: readonly AppliedDecision[];
  /** Every interruption is decided: run the agent again with the state to resume. */
  readonly ready: boolean;
}

export interface ApplyOptions {
  /** Wait (long-poll) while Reins holds a call, instead of leaving it `held` (default false). */
  readonly wait?: boolean;
  /** How long to wait at most (default: until the humans decide or the approval request expires). */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** What `applyReinsDecisions` needs of a `RunState` (of any agent and context). */
export interface InterruptedRun {
  getInterruptions(): RunToolApprovalItem[];
  approve(item: RunToolApprovalItem): void;
  reject(item: RunToolApprovalItem, options?: { message?: string }): void;
}

/**
 * Applies Reins' decisions to the interruptions of a run (a `RunState`, for instance one restored with
 * `RunState.fromString` in another process): asks Reins about each governed call under its `callId`
 * and approves or rejects the SDK interruption accordingly. Reins' approval is the only one that
 * counts: the run must be resumed with the same Reins credential (session) it was started with.
 */
export async function applyReinsDecisions(
  state: InterruptedRun,
  options: ApplyOptions = {},
): Promise<AppliedDecisions> {
  const decisions: AppliedDecision[] = [];
  for (const item of state.getInterruptions()) decisions.push(await applyOne(state, item, options));
  return { decisions, ready: decisions.every((decision) => decision.outcome !== 'held') };
}

async function applyOne(
  state: InterruptedRun,
  item: RunToolApprovalItem,
  options: ApplyOptions,
): Promise<AppliedDecision> {
  const binding = bindingOf(item);
  const raw = item.rawItem;
  if (binding === undefined || raw.type !== 'function_call') return { item, outcome: 'not-governed' };
  const args = parseArgs(raw.arguments);
  if (args === undefined) {
    state.reject(item, { message: 'Reins refused this call: its arguments are not a JSON object' });
    return { item, outcome: 'rejected' };
  }
  let call: CallState;
  try {
    call = await askReins(binding, args, raw.callId, options);
  } catch (error) {
    if (!(error instanceof GovernorError)) throw error;
    state.reject(item, { message: `Reins refused this call (${error.code}): ${error.message}` });
    return { item, outcome: 'rejected' };
  }
  if (call.status === 'held') return { item, outcome: 'held', call };
  if (call.status === 'denied') {
    state.reject(item, { message: refusalText(call) });
    return { item, outcome: 'rejected', call };
  }
  state.approve(item);
  return { item, outcome: 'approved', call };
}

/** Opens the call again under its `callId` (the same call), waiting for the humans when asked to. */
async function askReins(
  binding: Binding,
  args: Record<string, unknown>,
  callId: string,
  options: ApplyOptions,
): Promise<CallState> {
  const governor = binding.options.governor;
  const call = await governor.open({ tool: binding.ref, args, callId }, options.signal);
  if (call.status !== 'held' || options.wait !== true) return call;
  return governor.wait(call.id, {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** The binding of the governed tool an interruption belongs to, found on the agent that raised it. */
function bindingOf(item: RunToolApprovalItem): Binding | undefined {
  const found = item.agent.tools.find(
    (candidate) => candidate.type === 'function' && candidate.name === item.name,
  );
  return found === undefined ? undefined : GOVERNED.get(found);
}

function parseArgs(input: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(input);
    return isArgs(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isArgs(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
