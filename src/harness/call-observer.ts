/**
 * @module harness/call-observer
 * What the harness tells an observer (metrics, cli/ wires telemetry/) about each call once it has
 * ended: its effect, the rules that decided it, how long deciding took and how long the whole call
 * took. Told once per call, whichever path it took: `Harness.call`, a compensation, or the remote
 * protocol's `open`/`complete` (there the call ends when its outcome is recorded, so its duration
 * includes the agent running the tool and any wait for approval). Calls refused before they could be
 * decided (invalid input) or recorded (audit unavailable) are told too, with a `reins.*` rule. A
 * remote call whose outcome the log refused is told when a later report of it is recorded (the agent
 * may report again), and not at all while no outcome of it is on record: the counters follow the log.
 * Nothing of the call's arguments or principal is handed on: an observer only counts.
 */
import type { Effect } from '../spec/policy-document.js';

export interface CallObservation {
  readonly effect: Effect;
  /** The decision's `decidedBy`: rule ids, or `reins.<code>` for a built-in refusal. */
  readonly decidedBy: readonly string[];
  /** How the call ended (`ok`, `denied`, `error`, `expired`, `cancelled`, ...). */
  readonly outcome: string;
  /** How long deciding took; absent when the call was refused before a decision (invalid input). */
  readonly decisionSeconds?: number;
  /** From the start of deciding to the outcome. */
  readonly durationSeconds: number;
}

export interface CallObserver {
  /** Must not throw: an observer's failure is swallowed, it never changes a call. */
  observeCall(observation: CallObservation): void;
}

/** Tells the observer, if any; an observer that throws is ignored (it must never change a call). */
export function tellObserver(observer: CallObserver | undefined, observation: CallObservation): void {
  if (observer === undefined) return;
  try {
    observer.observeCall(observation);
  } catch {
    // metrics are never worth a call
  }
}
