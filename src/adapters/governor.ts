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
    report = { ok: true, result: await execute(state.args ?? {}) };
  } catch (error) {
    report = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  return governor.complete(state.id, report, options.signal);
}

/** The text a model is given for a call that did not produce a usable result. */
export function refusalText(state: CallState): string {
  if (state.status === 'denied') return `Reins refused this call: ${state.reason ?? 'denied'}`;
  if (state.status === 'held')
    return `Reins is holding this call for human approval (call ${state.id}): ${state.reason ?? ''}`.trim();
  if (state.status === 'failed') return state.error ?? 'the tool failed';
  return `the call is ${state.status}`;
}
