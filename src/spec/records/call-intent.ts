/**
 * @module spec/records/call-intent
 * `call-intent`: the attempt and its decision, durable before anything runs. Its outcome is a
 * `call-outcome` with the same `decisionId`.
 */
import { z } from 'zod';
import { MonitorFindingSchema } from '../monitor.js';
import { CallProvenanceRecordSchema } from '../provenance.js';
import { CompensatesSchema, RecordedReversalSchema } from '../reversal.js';
import { AuditDecisionSchema, CallRecordBaseV1, callIndexFields } from './call-fields.js';
import type { RecordKind } from './record-kind.js';

/** Version 1. */
export const CallIntentEventSchema = z.strictObject({
  ...CallRecordBaseV1,
  kind: z.literal('call-intent'),
  args: z.record(z.string(), z.unknown()),
  decision: AuditDecisionSchema,
  /** Microseconds spent deciding. */
  decisionLatencyUs: z.number(),
  /**
   * How the call can be undone, as its catalogue entry and its captures said when it was decided, with
   * the hashes of the captured state. Absent: the tool declares no reversal, or the record was written
   * before this field existed (then nothing was captured).
   */
  reversal: RecordedReversalSchema.optional(),
  /** This call is a rollback's compensation of another call. Absent: an ordinary call. */
  compensates: CompensatesSchema.optional(),
  /**
   * Where the argument values came from and the user's request declared with the call (issue 18,
   * spec/provenance). Absent: written before this field existed, or by a pipeline that did not look
   * (dry runs); then nothing is known about the arguments' sources.
   */
  provenance: CallProvenanceRecordSchema.optional(),
  /**
   * What the runtime monitor found when this call was decided (issue 19, spec/monitor): each finding
   * names its rule, the observed value, the bound and the baseline, and the calls it counted. Absent:
   * nothing deviated (or no `monitor:` section).
   */
  monitor: z.array(MonitorFindingSchema).min(1).optional(),
});
export type CallIntentEvent = z.infer<typeof CallIntentEventSchema>;

export const CALL_INTENT: RecordKind<'call-intent', CallIntentEvent> = {
  kind: 'call-intent',
  current: 1,
  versions: { 1: CallIntentEventSchema },
  indexFields: (event) => callIndexFields(event, event.decision.effect),
};
