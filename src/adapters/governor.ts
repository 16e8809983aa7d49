/**
 * @module adapters/governor
 * What every framework adapter is built on: a `ToolGovernor` opens a call with Reins (decided and
 * recorded before anything runs), waits while humans decide a held one, and takes the outcome of the
 * tool the adapter ran. Two implementations, one behaviour: `RemoteGovernor` speaks the remote
 * protocol to a gateway (the agent's process holds no store, key or log), `LocalGovernor` runs the same
 * harness in-process (a trusted single-process application). `runGoverned` is the one loop the
 * adapters share, so no adapter has a decision path of its own.
 */
import type { CallState, OpenCallRequest, OutcomeReport } from '../spec/remote-call.js';

export interface WaitOptions {
  readonly signal?: AbortSignal;
  /** Give up waiting after this long (the call stays held); default: until it is decided or expires. */
  readonly timeoutMs?: number;
}

export interface ToolGovernor {
  /** Decides and records the call; the same `callId` again returns the same call. */
  open(request: OpenCallRequest, signal?: AbortSignal): Promise<CallState>;
  /** Where the call stands now. */
  get(id: string, signal?: AbortSignal): Promise<CallState>;
  /** Waits while the call is held; resolves with its state once it is not (or the wait ends). */
  wait(id: string, options?: WaitOptions): Promise<CallState>;
  /** Reports what the tool did; resolves with what the agent may use (or why it may not). */
  complete(id: string, report: OutcomeReport, signal?: AbortSignal): Promise<CallState>;
  /** Withdraws a held or ready call the agent will not run (recorded `cancelled`). */
  cancel(id: string, reason?: string, signal?: AbortSignal): Promise<CallState>;
}

/** A refusal of the protocol itself (bad request, unknown call, credential refused, conflict). */
export class GovernorError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'GovernorError';
  }
}

export interface RunGovernedOptions {
  /** Wait for humans when the call is held (default true); false returns the `held` state at once. */
  readonly waitForApproval?: boolean;
  readonly signal?: AbortSignal;
  readonly waitTimeoutMs?: number;
  /**
   * Errors of `execute` that are not the tool's failure but the framework's own control flow (a
   * LangGraph interrupt): rethrown unreported, so the call stays ready and a re-run completes it.
   */
  readonly passThrough?: (error: unknown) => boolean;
}

/**
 * Opens the call, waits if it is held, runs `execute` with exactly the arguments Reins gave when it is
 * ready, and reports the outcome. Resolves with the final state: `completed` (use `output`), `failed`,
 * `denied` or, when not waiting, `held`. A tool that throws is reported as failed, never retried here.
 */
export async function runGoverned(
  governor: ToolGovernor,
  request: OpenCallRequest,
  execute: (args: Record<string, unknown>) => Promise<unknown>,
  options: RunGovernedOptions = {},
): Promise<CallState> {
  const { callId } = request;
  if (callId === undefined) return runOnce(governor, request, execute, options);
  // one tool-call id runs once in this process: a second call with it (a model repeating an id in one
  // step, a re-run while the first is under way) gets the first one's answer, never a second run
  const running = inFlight(governor);
  const earlier = running.get(callId);
  if (earlier !== undefined) return earlier;
  const run = runOnce(governor, request, execute, options);
  running.set(callId, run);
  const forget = () => {
    if (running.get(callId) === run) running.delete(callId);
  };
  run.then(forget, forget);
  return run;
}

/** Calls under way per governor, by tool-call id (they leave when they settle). */
const IN_FLIGHT = new WeakMap<ToolGovernor, Map<string, Promise<CallState>>>();

function inFlight(governor: ToolGovernor): Map<string, Promise<CallState>> {
  let running = IN_FLIGHT.get(governor);
  if (running === undefined) {
    running = new Map();
    IN_FLIGHT.set(governor, running);
  }
  return running;
}

async function runOnce(
  governor: ToolGovernor,
  request: OpenCallRequest,
  execute: (args: Record<string, unknown>) => Promise<unknown>,
  options: RunGovernedOptions,
): Promise<CallState> {
  let state = await governor.open(request, options.signal);
  if (state.status === 'held' && options.waitForApproval !== false) {
    state = await governor.wait(state.id, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.waitTimeoutMs !== undefined ? { timeoutMs: options.waitTimeoutMs } : {}),
    });
  }
  if (state.status !== 'ready') return state;
  let report: OutcomeReport;
  try {
    report = { ok: true, result: asJson(await execute(state.args ?? {})) };
  } catch (error) {
    if (options.passThrough?.(error)) throw error;
    report = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  try {
    return await governor.complete(state.id, report, options.signal);
  } catch (error) {
    // the outcome could not be told (network, refusal): end the call on record rather than leave it open
    await governor.cancel(state.id, `its outcome could not be reported: ${describe(error)}`).catch(() => {});
    throw error;
  }
}

/** The result as JSON carries it (what Reins screens is what the agent gets); not JSON throws. */
function asJson(value: unknown): unknown {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new Error(`the tool's result is not JSON: ${describe(error)}`);
  }
  return text === undefined ? undefined : JSON.parse(text);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The text a model is given for a call that did not produce a usable result. */
export function refusalText(state: CallState): string {
  if (state.status === 'denied') return `Reins refused this call: ${state.reason ?? 'denied'}`;
  if (state.status === 'held')
    return `Reins is holding this call for human approval (call ${state.id}): ${state.reason ?? ''}`.trim();
  if (state.status === 'failed') return state.error ?? 'the tool failed';
  return `the call is ${state.status}`;
}
