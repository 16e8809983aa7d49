/**
 * @module spec/policy-document
 * The policy file format (`apiVersion: reins.dev/v1`, `kind: Policy`) as a zod schema.
 * Validation only: compiling conditions and building indexes happens in `policy/`.
 */
import { z } from 'zod';
import {
  FlowCheckSchema,
  IdentifierKindSchema,
  OriginSchema,
  OutputSpecSchema,
  SinkSpecSchema,
} from './dataflow-policy.js';
import { DurationSchema } from './duration.js';
import { MonitorSectionSchema } from './monitor.js';
import { ReversalSchema, RollbackSectionSchema } from './reversal.js';

export const POLICY_API_VERSION = 'reins.dev/v1';

export const EffectSchema = z.enum(['allow', 'deny', 'approve']);
export type Effect = z.infer<typeof EffectSchema>;

/** What a rule may do when it matches; sequence and limit rules can only restrict. */
export const RestrictiveEffectSchema = z.enum(['deny', 'approve']);

export const ModeSchema = z.enum(['enforce', 'shadow']);
export type Mode = z.infer<typeof ModeSchema>;

export const RiskSchema = z.enum(['low', 'medium', 'high', 'critical']);
export type Risk = z.infer<typeof RiskSchema>;

/** What a tool does to the world; used by matchers and, later, by data-flow rules. */
export const ToolEffectSchema = z.enum(['read', 'write', 'external', 'irreversible']);
export type ToolEffect = z.infer<typeof ToolEffectSchema>;

const IdentifierSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
    'use letters, digits, `.`, `_`, `:` and `-`, starting with a letter or digit',
  );

/** One value or a non-empty list of values; normalised to a list. */
function oneOrMany<T extends z.ZodType>(item: T) {
  return z.union([item, z.array(item).min(1)]).transform((value) => (Array.isArray(value) ? value : [value]));
}

const GlobSchema = z.string().min(1);
const CelSchema = z.string().min(1, 'a condition cannot be empty');

export const PrincipalMatchSchema = z.strictObject({
  /** Agent ids (globs allowed); any of them. */
  agents: oneOrMany(GlobSchema).optional(),
  /** The agent must hold at least one of these roles. */
  roles: oneOrMany(z.string().min(1)).optional(),
  /** The agent's owner (a human) must be one of these. */
  owners: oneOrMany(z.string().min(1)).optional(),
  /** Bounds on the delegation depth (0 = the agent acts on its own task). */
  delegationDepth: z
    .strictObject({ min: z.number().int().min(0).optional(), max: z.number().int().min(0).optional() })
    .optional(),
});
export type PrincipalMatch = z.infer<typeof PrincipalMatchSchema>;

export const ToolMatchSchema = z.strictObject({
  /** Upstream server names (globs allowed). */
  server: oneOrMany(GlobSchema).optional(),
  /** Tool names (globs allowed). */
  name: oneOrMany(GlobSchema).optional(),
  /** Declared risk from the catalogue: any of these. */
  risk: oneOrMany(RiskSchema).optional(),
  /** Declared effects from the catalogue: the tool has at least one of these. */
  effects: oneOrMany(ToolEffectSchema).optional(),
});
export type ToolMatch = z.infer<typeof ToolMatchSchema>;

/**
 * Who may release a call an `approve` rule holds. Without it: one vote from a user with the `approver`
 * or `admin` role, never the requesting agent's owner alone, expiring with the gateway's approval
 * timeout.
 */
export const ApprovalPolicySchema = z.strictObject({
  /** Roles whose votes count (e.g. `finance-approvers`). */
  approvers: oneOrMany(z.string().min(1)).default(['approver', 'admin']),
  /** Distinct approving votes needed, e.g. 2 for "two of finance-approvers". */
  quorum: z.number().int().min(1).default(1),
  /** Separation of duties: may the requesting agent's owner approve without anyone else? */
  ownerMayApprove: z.boolean().default(false),
  /** The request expires (= denied) after this long; capped by the gateway's approval timeout. */
  expires: DurationSchema.optional(),
});
export type ApprovalPolicy = z.infer<typeof ApprovalPolicySchema>;

const RuleBaseShape = {
  id: IdentifierSchema,
  /** Shown to operators (and, when it denies, to the agent). */
  reason: z.string().min(1),
  mode: ModeSchema.optional(),
  principal: PrincipalMatchSchema.optional(),
  tool: ToolMatchSchema.optional(),
  /** CEL condition over `principal`, `tool`, `args`, `session`, `context`, `reversal` and `now`. */
  when: CelSchema.optional(),
  /** For `effect: approve`: who may approve, how many, and for how long. */
  approval: ApprovalPolicySchema.optional(),
};

export const RuleSchema = z.strictObject({ ...RuleBaseShape, effect: EffectSchema });
export type RuleDocument = z.infer<typeof RuleSchema>;

/** Which earlier calls of the session a sequence rule looks for. */
export const PriorCallSchema = z.strictObject({
  tool: ToolMatchSchema,
  /** CEL over the earlier call (`prior.args`, `prior.tool`) and the current one (`args`, ...). */
  when: CelSchema.optional(),
  /** Only earlier calls within this window count. */
  within: DurationSchema.optional(),
});
export type PriorCall = z.infer<typeof PriorCallSchema>;

export const SequenceRuleSchema = z
  .strictObject({
    ...RuleBaseShape,
    /** Effect when the rule is violated. */
    effect: RestrictiveEffectSchema.default('deny'),
    /** "X only after Y": the matched call needs an earlier successful call matching this. */
    requires: PriorCallSchema.optional(),
    /** "never X after Y": the matched call is refused once a call matching this has run. */
    forbids: PriorCallSchema.optional(),
  })
  .refine((rule) => (rule.requires === undefined) !== (rule.forbids === undefined), {
    message: 'a sequence rule needs exactly one of `requires` or `forbids`',
  });
export type SequenceRuleDocument = z.infer<typeof SequenceRuleSchema>;

export const LimitScopeSchema = z.enum(['session', 'agent', 'tool']);
export type LimitScope = z.infer<typeof LimitScopeSchema>;

export const LimitRuleSchema = z.strictObject({
  ...RuleBaseShape,
  effect: RestrictiveEffectSchema.default('deny'),
  /** Counters are kept per combination of these; none = one global counter. */
  per: z.array(LimitScopeSchema).default([]),
  window: DurationSchema,
  /** The most calls (or, with `sum`, the largest total) allowed in the window, this call included. */
  max: z.number().nonnegative(),
  /** CEL over the call giving the amount to add up (e.g. `args.amount`); without it, calls are counted. */
  sum: CelSchema.optional(),
});
export type LimitRuleDocument = z.infer<typeof LimitRuleSchema>;

/** A data-flow rule: gates a sink by where its argument values came from (docs/data-flow.md). */
export const FlowRuleSchema = z.strictObject({
  ...RuleBaseShape,
  /** Effect when the flow is violated; default `approve` for provenance, `deny` for tenant. */
  effect: RestrictiveEffectSchema.optional(),
  check: FlowCheckSchema.default('provenance'),
  /** Addressing arguments to check (default: the catalogue's `sink.args`). */
  args: z.array(z.string().min(1)).optional(),
  /** Free-text arguments to scan for identifiers (default: the catalogue's `sink.text`). */
  text: z.array(z.string().min(1)).optional(),
  /** Identifier kinds looked for in free text (default: all but `name`). */
  kinds: z.array(IdentifierKindSchema).min(1).optional(),
  /** Origins that clear a value also seen in untrusted text (default both: `user`, `structured`). */
  trustedOrigins: z.array(OriginSchema).default(['user', 'structured']),
  /** `flag`: a value seen nowhere (not in the user's request, not in any output) also violates. */
  unseen: z.enum(['allow', 'flag']).default('allow'),
});
export type FlowRuleDocument = z.infer<typeof FlowRuleSchema>;

export const CatalogueEntrySchema = z.strictObject({
  server: GlobSchema.default('*'),
  name: GlobSchema,
  description: z.string().optional(),
  risk: RiskSchema,
  effects: z.array(ToolEffectSchema).min(1),
  /** The tool returns content that others control (web pages, mail bodies, files, messages). */
  untrustedOutput: z.boolean().default(false),
  /** Data flow: which output fields are trusted or not, labels, tenant (see docs/data-flow.md). */
  output: OutputSpecSchema.optional(),
  /** Data flow: the arguments through which this tool acts on or sends to the outside. */
  sink: SinkSpecSchema.optional(),
  /** How a call of this tool is undone, or that it cannot be (spec/reversal, docs/rollback.md). */
  reversal: ReversalSchema.optional(),
});
export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>;

/** What to do with a detector's finding in a tool result (before the agent sees it). */
export const OutputActionSchema = z.enum(['redact', 'block', 'allow']);
/** What to do with a detector's finding in a tool's arguments (before they leave): `hold` asks humans. */
export const InputActionSchema = z.enum(['redact', 'block', 'hold', 'allow']);
export type InputAction = z.infer<typeof InputActionSchema>;

/** Keys are a detector class (`secret`, `pii`) or a detector id (`email`); a detector id wins. */
const OutputActionsSchema = z.record(z.string().min(1), OutputActionSchema);
const InputActionsSchema = z.record(z.string().min(1), InputActionSchema);

/** Secret and personal-data redaction (see docs/data-protection.md). */
export const RedactionSchema = z.strictObject({
  /** Detectors to run (ids); default: every detector. */
  detectors: z.array(z.string().min(1)).min(1).optional(),
  /** Actions for tool results; unset classes default to `secret: redact`, `pii: allow`. */
  outputs: OutputActionsSchema.default({}),
  /** Actions for tool arguments; unset classes default to `secret: block`, `pii: allow`. */
  inputs: InputActionsSchema.default({}),
  /** Per-tool changes, applied in order over the defaults above (e.g. a mail tool may receive addresses). */
  tools: z
    .array(
      z.strictObject({
        tool: ToolMatchSchema,
        outputs: OutputActionsSchema.optional(),
        inputs: InputActionsSchema.optional(),
      }),
    )
    .default([]),
});
export type RedactionDocument = z.infer<typeof RedactionSchema>;

/** Memory hygiene for MCP memory servers fronted by the gateway (see docs/data-protection.md). */
export const MemoryGuardSchema = z.strictObject({
  /** Upstream names (globs allowed) that are `@modelcontextprotocol/server-memory` or compatible. */
  servers: oneOrMany(GlobSchema),
  /** A secret in a memory write is redacted before it is stored, or the write is held for review. */
  secrets: z.enum(['redact', 'hold']).default('redact'),
  /** Who reads an entry: everyone in the writer's tenant, the same owner (human), or the same agent. */
  share: z.enum(['tenant', 'owner', 'agent']).default('tenant'),
  /** Entries older than this are no longer returned (and are removed by a purge). */
  retention: DurationSchema.optional(),
});
export type MemoryGuardDocument = z.infer<typeof MemoryGuardSchema>;

export const PolicyDocumentSchema = z.strictObject({
  apiVersion: z.literal(POLICY_API_VERSION, {
    error: `unsupported apiVersion: this version of Reins reads \`${POLICY_API_VERSION}\``,
  }),
  kind: z.literal('Policy'),
  metadata: z.strictObject({ name: IdentifierSchema, description: z.string().optional() }),
  /** `shadow`: every rule of this document is evaluated and recorded, never enforced. */
  mode: ModeSchema.default('enforce'),
  tools: z.array(CatalogueEntrySchema).default([]),
  rules: z.array(RuleSchema).default([]),
  sequences: z.array(SequenceRuleSchema).default([]),
  limits: z.array(LimitRuleSchema).default([]),
  /** Data-flow rules over sinks (argument provenance, tenant isolation). */
  flows: z.array(FlowRuleSchema).default([]),
  redaction: RedactionSchema.optional(),
  memory: MemoryGuardSchema.optional(),
  /** Built-in reversal profiles for upstream servers, and who may roll sessions back. */
  rollback: RollbackSectionSchema.optional(),
  /** Runtime monitoring: signals against each agent's baseline, and what to do on deviation (docs/monitoring.md). */
  monitor: MonitorSectionSchema.optional(),
});
export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;
