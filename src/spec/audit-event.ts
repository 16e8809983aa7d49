/**
 * @module spec/audit-event
 * The audit record format (`AuditEventV1`) and the stored, hash-chained form of it.
 * Every call yields two events sharing a `decisionId`: `call-intent` (the attempt and its decision,
 * durable before anything runs) and `call-outcome` (what happened, linked to the intent).
 */
import { z } from 'zod';
import { DecidedBySchema, DiagnosticSchema, VerdictSchema } from './decision.js';
import { PrincipalSchema, ToolRefSchema } from './tool-call.js';

export const OutcomeSchema = z.enum(['ok', 'error', 'denied', 'expired', 'cancelled', 'abandoned']);
export type Outcome = z.infer<typeof OutcomeSchema>;

export const AuditDecisionSchema = VerdictSchema.extend({
  /** The rules that determined the effect (spec/decision). Absent in records written before it existed. */
  decidedBy: DecidedBySchema.optional(),
  policyHash: z.string(),
  shadow: VerdictSchema.optional(),
  diagnostics: z.array(DiagnosticSchema),
});

/**
 * Provenance: which earlier records this one derives from.
 * - `intent`: the intent record of this call (on every outcome);
 * - `input`: an earlier call in the session whose output fed this call's arguments;
 * - `parent`: the call of the delegating agent on whose behalf this call is made.
 */
export const AuditLinkSchema = z.strictObject({
  rel: z.enum(['intent', 'input', 'parent']),
  /** Event id (`<decisionId>/intent`) or decision id of the linked call. */
  id: z.string().min(1),
});
export type AuditLink = z.infer<typeof AuditLinkSchema>;

const AuditEventBase = {
  v: z.literal(1),
  /** Unique id of this event. */
  id: z.string().min(1),
  /** ISO 8601 time at which the event was created. */
  time: z.string(),
  /** Shared by the intent and outcome of one call. */
  decisionId: z.string().min(1),
  sessionId: z.string().min(1),
  principal: PrincipalSchema,
  tool: ToolRefSchema,
  /** Records this one derives from (provenance). */
  links: z.array(AuditLinkSchema).default([]),
};

export const CallIntentEventSchema = z.strictObject({
  ...AuditEventBase,
  kind: z.literal('call-intent'),
  args: z.record(z.string(), z.unknown()),
  decision: AuditDecisionSchema,
  /** Microseconds spent deciding. */
  decisionLatencyUs: z.number(),
});

export const CallOutcomeEventSchema = z.strictObject({
  ...AuditEventBase,
  kind: z.literal('call-outcome'),
  outcome: OutcomeSchema,
  /** The tool result after output filters; absent unless the call ran. */
  result: z.unknown().optional(),
  error: z.string().optional(),
  /** Who approved or refused a held call, and why. */
  approval: z
    .strictObject({ approved: z.boolean(), by: z.string().optional(), reason: z.string().optional() })
    .optional(),
  /**
   * ISO 8601 time the tool was started. Absent: it was never started (refused, expired, abandoned, or
   * cancelled before it ran), or the record was written before this field existed (then `ok` and
   * `error` outcomes ran, at about the intent's time).
   */
  startedAt: z.string().optional(),
  /** Microseconds from the start of the call to this record. */
  latencyUs: z.number(),
});

/** The searchable effect of every `credential-rejected` record. */
export const CREDENTIAL_REJECTED_EFFECT = 'rejected';

/** A credential was refused (bad signature, expired, revoked, ...): who it claimed to be, and why. */
export const CredentialRejectedEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('credential-rejected'),
  /** Equal to `id`: a refused credential decides nothing else. */
  decisionId: z.string().min(1),
  /** What the token claimed, when it could be read at all (not trusted: it did not verify). */
  claimedAgentId: z.string().default(''),
  claimedSessionId: z.string().default(''),
  tokenId: z.string().optional(),
  /** Stable code (`expired`, `revoked`, `bad_signature`, ...). */
  code: z.string(),
  message: z.string(),
  /** The tool the caller was trying to reach, when known. */
  tool: ToolRefSchema.optional(),
  /**
   * A summary: this many refusals were counted, not recorded one by one (the refusals of a caller
   * are bounded per window, see auth/refusal-recorder). Absent: the record stands for one refusal.
   */
  repeated: z.number().int().positive().optional(),
});

/**
 * Tool definition pinning: a tool pinned on first sight, quarantined (its definition changed since it
 * was approved, or its description carries instructions aimed at the model), or a call to a
 * quarantined tool, or to a tool that does not exist (`reason: unknown_tool`), refused.
 */
export const ToolPinningEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('tool-pinning'),
  /** Equal to `id`. */
  decisionId: z.string().min(1),
  tool: ToolRefSchema,
  status: z.enum(['pinned', 'quarantined', 'refused']),
  reason: z.string().optional(),
  fingerprint: z.string(),
  /** The approved fingerprint the definition no longer matches. */
  pinned: z.string().optional(),
  findings: z.array(z.strictObject({ code: z.string(), field: z.string() })).default([]),
  message: z.string(),
  /** For refused calls: who tried. */
  agentId: z.string().default(''),
  sessionId: z.string().default(''),
});

/**
 * A human acted through the control plane or the CLI: decided an approval, paused or killed a session,
 * suspended an agent, granted an override, created a user. Every write by a human is one of these.
 */
export const OperatorActionEventSchema = z.strictObject({
  v: z.literal(1),
  id: z.string().min(1),
  time: z.string(),
  kind: z.literal('operator-action'),
  /** Equal to `id`, or the decision id of the call the action is about (approvals, overrides). */
  decisionId: z.string().min(1),
  /** Who acted (a human user id, or `cli:<os user>`), with the roles they held at the time. */
  actor: z.strictObject({ id: z.string().min(1), roles: z.array(z.string()).default([]) }),
  /** Dotted verb: `approval.approve`, `approval.deny`, `session.kill`, `agent.suspend`, ... */
  action: z.string().min(1),
  target: z.strictObject({ type: z.string().min(1), id: z.string().min(1) }),
  reason: z.string().default(''),
  /** The session and agent the action concerns, when there is one (for queries). */
  sessionId: z.string().default(''),
  agentId: z.string().default(''),
});

export const AuditEventV1Schema = z.discriminatedUnion('kind', [
  CallIntentEventSchema,
  CallOutcomeEventSchema,
  CredentialRejectedEventSchema,
  ToolPinningEventSchema,
  OperatorActionEventSchema,
]);
export type AuditEventV1 = z.infer<typeof AuditEventV1Schema>;
export type CallIntentEvent = z.infer<typeof CallIntentEventSchema>;
export type CallOutcomeEvent = z.infer<typeof CallOutcomeEventSchema>;
export type CredentialRejectedEvent = z.infer<typeof CredentialRejectedEventSchema>;
export type ToolPinningEvent = z.infer<typeof ToolPinningEventSchema>;
export type OperatorActionEvent = z.infer<typeof OperatorActionEventSchema>;

/**
 * Searchable copies of some event fields, stored beside the body. They are covered by the record's
 * hash, so editing one to hide a record from queries breaks the chain like any other edit.
 */
export interface AuditIndexFields {
  /** ISO 8601. */
  readonly time: string;
  readonly kind: string;
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  /** `server/name`. */
  readonly tool: string;
  /** The decision's effect for an intent, the outcome for an outcome. */
  readonly effect: string;
}

/** An event ready to be chained: its exact serialised body and its searchable fields. */
export interface PreparedEvent extends AuditIndexFields {
  readonly body: string;
}

/** An event as stored: its position in the chain, the hash of its predecessor and its own hash. */
export interface ChainedRecord extends PreparedEvent {
  /** 1-based position in the log. */
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** Derives the searchable fields of an event (the single place that decides them). */
export function indexFieldsOf(event: AuditEventV1): AuditIndexFields {
  if (event.kind === 'tool-pinning') {
    return {
      time: event.time,
      kind: event.kind,
      decisionId: event.decisionId,
      sessionId: event.sessionId,
      agentId: event.agentId,
      tool: `${event.tool.server}/${event.tool.name}`,
      effect: event.status,
    };
  }
  if (event.kind === 'operator-action') {
    return {
      time: event.time,
      kind: event.kind,
      decisionId: event.decisionId,
      sessionId: event.sessionId,
      agentId: event.agentId,
      tool: '',
      effect: event.action,
    };
  }
  if (event.kind === 'credential-rejected') {
    return {
      time: event.time,
      kind: event.kind,
      decisionId: event.decisionId,
      sessionId: event.claimedSessionId,
      agentId: event.claimedAgentId,
      tool: event.tool ? `${event.tool.server}/${event.tool.name}` : '',
      effect: CREDENTIAL_REJECTED_EFFECT,
    };
  }
  return {
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.principal.agentId,
    tool: `${event.tool.server}/${event.tool.name}`,
    effect: event.kind === 'call-intent' ? event.decision.effect : event.outcome,
  };
}

/** Serialises an event once, for hashing and storing. */
export function prepareEvent(event: AuditEventV1): PreparedEvent {
  const fields = indexFieldsOf(event);
  return {
    body: JSON.stringify(event),
    time: fields.time,
    kind: fields.kind,
    decisionId: fields.decisionId,
    sessionId: fields.sessionId,
    agentId: fields.agentId,
    tool: fields.tool,
    effect: fields.effect,
  };
}
