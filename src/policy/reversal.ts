/**
 * @module policy/reversal
 * A catalogue entry's `reversal` (spec/reversal), compiled: the capture reads a call needs before it
 * runs, whether the captured state can be restored exactly, the compensation steps that undo the call,
 * and the resources it changes. The CEL expressions are type-checked when the policy loads and
 * evaluated here with errors as values (a failure to evaluate is never a silent "nothing to undo").
 *
 * The harness takes the captures and records them with the intent; the rollback (rollback/) builds the
 * compensation from the recorded call, its result and the captured state.
 */
import type { ReversalFacts } from '../spec/reversal.js';

/** The call a reversal is evaluated for (the CEL variables `args` and `call`). */
export interface ReversalCall {
  readonly decisionId: string;
  readonly sessionId: string;
  readonly server: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
}

/** A read to take before the call runs: a tool of the same server. */
export interface CaptureCall {
  readonly name: string;
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

/** What a capture read returned (the CEL value `captured.<name>`, and `capture` in `accept`). */
export interface CapturedValue {
  readonly ok: boolean;
  /** The tool's result (for MCP: the CallToolResult), when it returned one. */
  readonly result?: unknown;
  /** The failure's text, when it failed. */
  readonly error?: string;
}

/** A call that undoes (part of) another: a tool of the same server, with its arguments. */
export interface CompensationCall {
  readonly tool: string;
  readonly args: Record<string, unknown>;
}

export type Evaluated<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: string };

export interface CompiledReversal {
  readonly kind: 'compensation' | 'irreversible' | 'external';
  /** Why it cannot be undone (`irreversible`, `external`). */
  readonly reason?: string;
  /** Does the call need captures before it runs? */
  readonly capturesState: boolean;
  /** Running the compensation twice leaves the same state. */
  readonly idempotent: boolean;
  /** The capture reads for this call, arguments evaluated. */
  captures(call: ReversalCall): Evaluated<CaptureCall[]>;
  /** Is this capture usable (its `accept`, default `capture.ok`)? */
  accepts(name: string, captured: CapturedValue, call: ReversalCall): Evaluated<boolean>;
  /** The call's reversibility once its captures are taken (`exact`); `captured` empty without captures. */
  facts(call: ReversalCall, captured: Readonly<Record<string, CapturedValue>>): ReversalFacts;
  /** The compensation steps whose `when` holds, arguments evaluated; empty: nothing to undo. */
  compensation(
    call: ReversalCall,
    result: unknown,
    captured: Readonly<Record<string, CapturedValue>>,
  ): Evaluated<CompensationCall[]>;
  /** The resources the call changes (empty without `resources`). */
  resources(call: ReversalCall): Evaluated<string[]>;
}
