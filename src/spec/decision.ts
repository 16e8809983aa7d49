/**
 * @module spec/decision
 * A Decision is data: the effect, which rules matched and why, what the enforcement point must do
 * (obligations), which policy version decided, and what shadow rules would have decided.
 */
import { z } from 'zod';
import { ApprovalRequirementSchema } from './oversight.js';
import { EffectSchema, RiskSchema, ToolEffectSchema } from './policy-document.js';

export const DiagnosticSchema = z.strictObject({
  /** Stable snake_case code, e.g. `condition_error`, `unknown_tool`. */
  code: z.string(),
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
export type Verdict = z.infer<typeof VerdictSchema>;

export const DecisionSchema = VerdictSchema.extend({
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
});
export type Decision = z.infer<typeof DecisionSchema>;
