/**
 * @module spec/audit-event
 * The audit record format (`AuditEventV1`) and the stored, hash-chained form of it.
 * Every call yields two events sharing a `decisionId`: `call-intent` (the attempt and its decision,
 * durable before anything runs) and `call-outcome` (what happened, linked to the intent).
 */
import { z } from 'zod';
import { DiagnosticSchema, VerdictSchema } from './decision.js';
import { PrincipalSchema, ToolRefSchema } from './tool-call.js';

export const OutcomeSchema = z.enum(['ok', 'error', 'denied', 'expired', 'cancelled']);
export type Outcome = z.infer<typeof OutcomeSchema>;

export const AuditDecisionSchema = VerdictSchema.extend({
  policyHash: z.string(),
  shadow: VerdictSchema.optional(),
  diagnostics: z.array(DiagnosticSchema),
});

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
  /** Ids of events this one derives from (an outcome links its intent). */
  links: z.array(z.string()).default([]),
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
  /** Microseconds from the start of the call to this record. */
  latencyUs: z.number(),
});

export const AuditEventV1Schema = z.discriminatedUnion('kind', [
  CallIntentEventSchema,
  CallOutcomeEventSchema,
]);
export type AuditEventV1 = z.infer<typeof AuditEventV1Schema>;
export type CallIntentEvent = z.infer<typeof CallIntentEventSchema>;
export type CallOutcomeEvent = z.infer<typeof CallOutcomeEventSchema>;

/** An event as stored: its position in the chain, the hash of its predecessor and its own hash. */
export interface ChainedRecord {
  /** 1-based position in the log. */
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** The event serialised exactly as hashed. */
  readonly body: string;
}
