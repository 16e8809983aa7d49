/**
 * @module spec/tool-call
 * A tool call as the decision engine sees it: who asks (principal), in which session, for which tool,
 * with which arguments. Also the session view and counters a decision may consult.
 */
import { z } from 'zod';
import type { DataflowView } from './dataflow-view.js';
import { IdentitySchema } from './human-identity.js';
import type { ReversalFacts } from './reversal.js';
import { ScopeSchema } from './scopes.js';
import { isStorableText } from './storable-text.js';

export const ToolRefSchema = z.strictObject({
  /** The upstream (MCP server, SDK toolset) that provides the tool. */
  server: z.string().min(1),
  name: z.string().min(1),
});
export type ToolRef = z.infer<typeof ToolRefSchema>;

/**
 * Who asks. Recorded as is in both call records of the audit log: a field added here is added to the
 * record format (docs/record-format.md).
 */
export const PrincipalSchema = z.strictObject({
  agentId: z.string().min(1),
  roles: z.array(z.string().min(1)).default([]),
  /** The human accountable for the agent. */
  /** The accountable human, in canonical form (spec/human-identity). */
  owner: IdentitySchema.optional(),
  /** Agents that delegated this task, outermost first; empty when the agent acts on its own task. */
  delegatedBy: z.array(z.string().min(1)).default([]),
  /**
   * The sessions this call's session was delegated from, outermost first (the `psn` claim of its
   * credential): the session inherits their data-flow labels and untrusted-value index. Empty when the
   * agent acts on its own task, and in every record written before this field existed (delegation
   * carried no session state then; `delegatedBy` still names the delegating agents).
   */
  parentSessions: z.array(z.string().min(1)).default([]),
  /**
   * Tools the agent's credential allows (`server/name` patterns). Present when the caller was
   * authenticated by a credential: a call outside them is denied whatever the policy says. Absent for
   * in-process callers that are not credential-bound.
   */
  scopes: z.array(ScopeSchema).optional(),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export const ToolCallSchema = z.strictObject({
  principal: PrincipalSchema,
  /** Kept by the store as given (spec/storable-text): a session finds its own records again by it. */
  sessionId: z
    .string()
    .min(1)
    .refine(isStorableText, 'a session id may not hold a NUL or a lone UTF-16 surrogate')
    .default('default'),
  tool: ToolRefSchema,
  args: z.record(z.string(), z.unknown()).default({}),
  /** Facts supplied by the enforcement point (e.g. the channel), visible to conditions as `context`. */
  context: z.record(z.string(), z.unknown()).default({}),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;
export type ToolCallInput = z.input<typeof ToolCallSchema>;

export const SessionStatusSchema = z.enum(['active', 'paused', 'killed']);
export type SessionStatus = z.infer<typeof SessionStatusSchema>;

/** One call that ran earlier in the session (what sequence rules look at). */
export const HistoryEntrySchema = z.strictObject({
  tool: ToolRefSchema,
  args: z.record(z.string(), z.unknown()).default({}),
  /** Epoch milliseconds. */
  at: z.number(),
  /** `pending` while the call runs: "never X after Y" already applies to a Y in flight. */
  outcome: z.enum(['ok', 'error', 'pending']).default('ok'),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/** What the decision engine may know about the session; read-only, supplied by the harness. */
export interface SessionView {
  readonly id: string;
  readonly status: SessionStatus;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  readonly history: readonly HistoryEntry[];
  readonly labels: readonly string[];
}

/** Windowed totals kept by the harness for limit rules (counts and running sums). */
export interface CounterView {
  /** Total recorded under `key` at or after `sinceMs`. */
  total(key: string, sinceMs: number): number;
}

/** Everything one decision depends on; the engine reads nothing else. */
export interface DecisionInput {
  readonly call: ToolCall;
  readonly session: SessionView;
  readonly counters: CounterView;
  /** Epoch milliseconds. */
  readonly now: number;
  /** What the session has seen (labels, value origins), for `flows` rules; none = nothing seen. */
  readonly dataflow?: DataflowView | undefined;
  /**
   * The call's reversibility once its captures are taken (the CEL variable `reversal`); none = what
   * the policy declares for the tool (policy/prepared-policy `staticReversalFacts`).
   */
  readonly reversal?: ReversalFacts | undefined;
}
