/**
 * @module spec/records/call-fields
 * What the two records of a call (`call-intent`, `call-outcome`) share: the fields every call record
 * carries, provenance links, the decision as recorded, and the outcomes. Part of both kinds' versions:
 * a change here is a change to both (docs/record-format.md).
 */
import { z } from 'zod';
import { DecidedBySchema, DiagnosticSchema, VerdictSchema } from '../decision.js';
import { PrincipalSchema, ToolRefSchema } from '../tool-call.js';
import { toolKeyOf } from '../tool-key.js';
import type { AuditIndexFields } from './record-kind.js';

export const OutcomeSchema = z.enum(['ok', 'error', 'denied', 'expired', 'cancelled', 'abandoned']);
export type Outcome = z.infer<typeof OutcomeSchema>;

/**
 * A diagnostic as recorded: its code is one of spec/decision's closed set when written, but a reader
 * keeps a code it does not know (written by a later version) rather than refusing the record.
 */
const RecordedDiagnosticSchema = DiagnosticSchema.extend({ code: z.string() });

export const AuditDecisionSchema = VerdictSchema.extend({
  /**
   * The rules that determined the effect (spec/decision `decidedBy`). Absent: written before this field
   * existed; `matchedRules` and `reasons` then tell which rules matched, not which decided.
   */
  decidedBy: DecidedBySchema.optional(),
  policyHash: z.string(),
  shadow: VerdictSchema.optional(),
  diagnostics: z.array(RecordedDiagnosticSchema),
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

/** The fields of version 1 of both call records, before their kind. */
export const CallRecordBaseV1 = {
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

/** The searchable fields of a call record: the same for both kinds but for `effect`. */
export function callIndexFields(
  event: {
    readonly time: string;
    readonly kind: string;
    readonly decisionId: string;
    readonly sessionId: string;
    readonly principal: { readonly agentId: string };
    readonly tool: { readonly server: string; readonly name: string };
  },
  effect: string,
): AuditIndexFields {
  return {
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.sessionId,
    agentId: event.principal.agentId,
    tool: toolKeyOf(event.tool),
    effect,
  };
}
