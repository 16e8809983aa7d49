/**
 * @module harness/types
 * What enforcement points hand to the harness and get back: the call request, the tool executor,
 * approval and output-filter hooks, and the call result (data, never an exception).
 */
import type { Context } from '@opentelemetry/api';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { Outcome } from '../spec/audit-event.js';
import type { Decision } from '../spec/decision.js';
import type { Compensates } from '../spec/reversal.js';
import type { CallCredential } from '../spec/standing.js';
import type { Principal, ToolCall, ToolCallInput, ToolRef } from '../spec/tool-call.js';
import type { UpstreamReader } from './capture.js';

/** The policy in force; read once per call so a reload never mixes two versions in one decision. */
export interface PolicyHandle {
  readonly current: PreparedPolicy;
}

/** Where a call's inputs came from, for the audit trail (the decision does not depend on it). */
export interface CallProvenance {
  /** Decision ids of earlier calls whose outputs fed this call's arguments. */
  readonly inputs?: readonly string[];
  /** Decision id of the delegating agent's call this one is made on behalf of. */
  readonly parent?: string;
}

export type CallRequest = ToolCallInput & {
  readonly provenance?: CallProvenance;
  /**
   * The user's own request, declared as trusted input for the session before this call is decided
   * (see `Harness.declareUserInput`): values in it are not "derived from tool output".
   */
  readonly trustedInput?: string;
  /**
   * The user's request, declared for the whole session with this call (an MCP client's
   * `_meta["reins.dev/session-request"]`): recorded like `trustedInput`, `via: session`, and only once
   * the call is past the session's owner and standing checks.
   */
  readonly sessionRequest?: string;
  /**
   * The credential the call rides on, for the standing check (revoked tokens, sessions, agents'
   * credentials). Without one, the agents' state is checked and every retained agent revocation applies.
   */
  readonly credential?: CallCredential;
};

/**
 * Who asks about a call opened earlier (`Harness.get`, `wait`, `complete`): the agent and session its
 * credential names, and that credential. Only the agent that opened a call, in its session, sees it.
 */
export interface CallerRef {
  readonly principal: Principal;
  readonly sessionId: string;
  readonly credential?: CallCredential;
}

/**
 * Runs the real tool. Receives the arguments exactly as decided on, and the decision id, so that the
 * tool can tag what it does with it (reconciliation with the audit log, rollback). One that gives up
 * on the signal before asking the tool anything says so with `ToolNotStarted`.
 */
export type ToolExecutor = (
  args: Record<string, unknown>,
  options: { readonly signal: AbortSignal; readonly decisionId: string },
) => Promise<unknown>;

/**
 * What a tool executor rejects with when it gave up before asking the tool anything: its caller
 * cancelled while the call waited (the gateway's share of an upstream, gateway/session-share). Said in
 * the turn of the cancellation itself, the harness records the call as cancelled before it started, so
 * not run; said later, or without a cancellation, it proves nothing and the call is recorded as any
 * other. The message says what kept it from starting.
 */
export class ToolNotStarted extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ToolNotStarted';
  }
}

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
/**
 * Told, while a held call waits for humans, that it is still waiting (the gateway turns this into MCP
 * progress notifications for the client that asked for them).
 */
export type WaitingListener = (elapsedSeconds: number, message: string) => void;

export type ApprovalHandler = (
  request: ApprovalRequest,
  signal: AbortSignal,
  onWaiting?: WaitingListener,
) => Promise<ApprovalVerdict>;

export interface OutputFilterContext {
  readonly call: ToolCall;
  readonly decision: Decision;
  /** `result`: what the tool returned; `error`: the text of its failure (a string; return a string). */
  readonly kind: 'result' | 'error';
}

/**
 * Transforms what comes back from a tool before the agent sees it (redaction, labelling): its result,
 * and the message of its failure. Throwing withholds the result or the message.
 */
export type OutputFilter = (output: unknown, context: OutputFilterContext) => unknown | Promise<unknown>;

/** How one call is run, besides its request and executor. */
export interface CallOptions {
  /** Aborts the call: a held call ends as abandoned, a running one as cancelled. */
  readonly signal?: AbortSignal;
  /** Told, while the call is held for approval, that it is still waiting. */
  readonly onWaiting?: WaitingListener;
  /**
   * Reads whether a tool's result reports a failure (MCP: `isError: true`): the text of the failure,
   * or undefined. Such a call is recorded as `error` (with its result), and its result still returned.
   */
  readonly errorOfResult?: (output: unknown) => string | undefined;
  /**
   * Reads another tool of the same upstream: the capture reads a tool's reversal asks for before the
   * call runs (issue 16). Without it, a call that needs captures is not reversible here.
   */
  readonly readUpstream?: UpstreamReader;
  /**
   * The caller's trace context (W3C `traceparent` as the gateway read it): the call's spans are its
   * children. Without it, the active context. Used only when the harness traces (`tracer`).
   */
  readonly traceContext?: Context;
}

/** A rollback's compensation: one step, on behalf of the agent whose call it undoes (`Harness.compensate`). */
export interface CompensationRequest {
  /** The original agent, as its call recorded it. */
  readonly principal: Principal;
  /** The rollback session (spec/reversal `rollbackSessionOf`). */
  readonly sessionId: string;
  readonly tool: ToolRef;
  readonly args: Record<string, unknown>;
  readonly compensates: Compensates;
  /**
   * The undone call's arguments as recorded: of the compensation's arguments, the log keeps only
   * strings it already holds there; the rest is restored content, summarised in the record.
   */
  readonly undoneArgs?: Record<string, unknown>;
}

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
