/**
 * @module harness/types
 * What enforcement points hand to the harness and get back: the call request, the tool executor,
 * approval and output-filter hooks, and the call result (data, never an exception).
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { Outcome } from '../spec/audit-event.js';
import type { Decision } from '../spec/decision.js';
import type { ToolCall, ToolCallInput } from '../spec/tool-call.js';

/** The policy in force; read once per call so a reload never mixes two versions in one decision. */
export interface PolicyHandle {
  readonly current: PreparedPolicy;
}

export type CallRequest = ToolCallInput;

/** Runs the real tool. Receives the arguments exactly as decided on. */
export type ToolExecutor = (
  args: Record<string, unknown>,
  options: { signal: AbortSignal },
) => Promise<unknown>;

export interface ApprovalRequest {
  readonly decisionId: string;
  readonly call: ToolCall;
  readonly decision: Decision;
  /** Binds an approval to this exact call (principal, session, tool, arguments). */
  readonly callHash: string;
}

export interface ApprovalVerdict {
  readonly approved: boolean;
  /** Who approved or refused. */
  readonly by?: string;
  readonly reason?: string;
}

/** Asks humans; resolves with their verdict, or rejects/aborts when `signal` fires (timeout, cancel). */
export type ApprovalHandler = (request: ApprovalRequest, signal: AbortSignal) => Promise<ApprovalVerdict>;

export interface OutputFilterContext {
  readonly call: ToolCall;
  readonly decision: Decision;
}

/** Transforms a tool result before the agent sees it (redaction, labelling). Throwing withholds the result. */
export type OutputFilter = (output: unknown, context: OutputFilterContext) => unknown | Promise<unknown>;

interface CallResultBase {
  readonly decisionId: string;
  readonly decision: Decision;
  readonly outcome: Outcome;
}

export type CallResult =
  | (CallResultBase & { readonly status: 'ok'; readonly output: unknown })
  /** Refused before running: policy deny, refused or expired approval, killed session, audit unavailable. */
  | (CallResultBase & { readonly status: 'denied'; readonly reason: string })
  /** The tool ran (or tried to) and failed, or its result could not be filtered or recorded. */
  | (CallResultBase & { readonly status: 'error'; readonly error: string });
