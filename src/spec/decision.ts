/**
 * @module spec/decision
 * A Decision is data: the effect, which rules matched and why, what the enforcement point must do
 * (obligations), which policy version decided, and what shadow rules would have decided.
 */
import { z } from 'zod';
import { MonitorFindingSchema } from './monitor.js';
import { ApprovalRequirementSchema } from './oversight.js';
import { EffectSchema, RiskSchema, ToolEffectSchema } from './policy-document.js';

/**
 * Every diagnostic code a decision can carry, by the stage that produces it. The set is closed: a new
 * code is added here (and documented) before anything may use it.
 * - `deployment`: refusals of the enforcement point before the policy is asked (bad input, standing of
 *   the agent or credential, session ownership and size, an audit log that cannot record);
 * - `policy`: the decision engine (unknown tool, credential scope, session status, rule errors);
 * - `redaction`: the screening of the arguments for secrets and personal data.
 */
export const DIAGNOSTIC_CODES = {
  invalid_input: 'deployment',
  session_agent_mismatch: 'deployment',
  session_history_full: 'deployment',
  audit_unavailable: 'deployment',
  revoked: 'deployment',
  unknown_agent: 'deployment',
  agent_not_active: 'deployment',
  standing_unavailable: 'deployment',
  state_unavailable: 'deployment',
  capture_failed: 'deployment',
  reserved_session: 'deployment',
  unknown_tool: 'policy',
  out_of_scope: 'policy',
  session_paused: 'policy',
  session_killed: 'policy',
  condition_error: 'policy',
  internal_error: 'policy',
  sensitive_input: 'redaction',
  input_redacted: 'redaction',
  redaction_failed: 'redaction',
} as const;
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;
export type DiagnosticStage = (typeof DIAGNOSTIC_CODES)[DiagnosticCode];

export const DiagnosticCodeSchema = z.enum(
  Object.keys(DIAGNOSTIC_CODES) as [DiagnosticCode, ...DiagnosticCode[]],
);

/** Which stage produced a diagnostic. */
export function diagnosticStage(code: DiagnosticCode): DiagnosticStage {
  return DIAGNOSTIC_CODES[code];
}

export const DiagnosticSchema = z.strictObject({
  /** Stable snake_case code from the closed set above, e.g. `condition_error`, `unknown_tool`. */
  code: DiagnosticCodeSchema,
  message: z.string(),
  ruleId: z.string().optional(),
});
export type Diagnostic = z.infer<typeof DiagnosticSchema>;

export const ObligationSchema = z.discriminatedUnion('kind', [
  /** Add `amount` to the windowed counter `key` once the call is let through (limit rules). */
  z.strictObject({ kind: z.literal('count'), key: z.string(), amount: z.number(), ruleId: z.string() }),
  /** Hold the call until humans approve it: every requirement (one per holding rule) must be met. */
  z.strictObject({
    kind: z.literal('approval'),
    ruleIds: z.array(z.string()),
    requirements: z.array(ApprovalRequirementSchema),
    /** The shortest expiry any holding rule asks for, in milliseconds. */
    expiresInMs: z.number().optional(),
  }),
]);
export type Obligation = z.infer<typeof ObligationSchema>;

export const ToolFactsSchema = z.strictObject({
  risk: RiskSchema,
  effects: z.array(ToolEffectSchema),
  untrustedOutput: z.boolean(),
});
export type ToolFacts = z.infer<typeof ToolFactsSchema>;

/** A data-flow rule that found a violation: what value, in which argument, from which call. */
export const FlowFindingSchema = z.strictObject({
  ruleId: z.string(),
  arg: z.string(),
  value: z.string(),
  kind: z.enum(['untrusted', 'unseen', 'tenant']),
  /** The call whose output the value came from. */
  source: z.strictObject({ decisionId: z.string(), tool: z.string() }).optional(),
  valueTenant: z.string().optional(),
  sinkTenant: z.string().optional(),
});
export type FlowFinding = z.infer<typeof FlowFindingSchema>;

export const VerdictSchema = z.strictObject({
  effect: EffectSchema,
  /** Every rule that matched, whatever its effect. */
  matchedRules: z.array(z.string()),
  /** Why the effect is what it is (the reasons of the rules that decided it, or of the default). */
  reasons: z.array(z.string()),
});

/**
 * Rule ids that determined the effect, apart from those that merely matched: the deny rules (and rules
 * whose condition failed) of a deny, the holding rules of an approve, the allowing rules of an allow.
 * An effect that no policy rule determined names a built-in: `reins.default-deny` (no rule allows),
 * `reins.redaction` (the argument screening), or `reins.<diagnostic code>` (e.g. `reins.unknown_tool`,
 * `reins.revoked`).
 */
export const DecidedBySchema = z.array(z.string());
export type Verdict = z.infer<typeof VerdictSchema>;

export const DecisionSchema = VerdictSchema.extend({
  decidedBy: DecidedBySchema,
  obligations: z.array(ObligationSchema),
  /** `sha256:<hex>` over the policy documents in force. */
  policyHash: z.string(),
  /** Present when shadow rules are loaded: what the decision would be if they were enforced. */
  shadow: VerdictSchema.optional(),
  diagnostics: z.array(DiagnosticSchema),
  /** Catalogue facts about the tool, when it is known. */
  tool: ToolFactsSchema.optional(),
  /** Data-flow violations found by `flows` rules (enforced or shadow), naming their source calls. */
  flows: z.array(FlowFindingSchema).optional(),
  /** What the runtime monitor found (spec/monitor); recorded with the call's intent. */
  monitor: z.array(MonitorFindingSchema).optional(),
});
export type Decision = z.infer<typeof DecisionSchema>;
