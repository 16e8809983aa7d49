/**
 * @module spec/records/call-intent
 * `call-intent`: the attempt and its decision, durable before anything runs. Its outcome is a
 * `call-outcome` with the same `decisionId`.
 */
import { z } from 'zod';
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
});
export type CallIntentEvent = z.infer<typeof CallIntentEventSchema>;

export const CALL_INTENT: RecordKind<'call-intent', CallIntentEvent> = {
  kind: 'call-intent',
  current: 1,
  versions: { 1: CallIntentEventSchema },
  indexFields: (event) => callIndexFields(event, event.decision.effect),
};
