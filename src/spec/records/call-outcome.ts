/**
 * @module spec/records/call-outcome
 * `call-outcome`: what happened to a call (ran, failed, refused, expired, cancelled, abandoned), linked
 * to its `call-intent` by `decisionId` and an `intent` link.
 */
import { z } from 'zod';
import { CallRecordBaseV1, callIndexFields, OutcomeSchema } from './call-fields.js';
import type { RecordKind } from './record-kind.js';

/** Version 1. */
export const CallOutcomeEventSchema = z.strictObject({
  ...CallRecordBaseV1,
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
   * ISO 8601 time the tool was started. Absent: it was never started (refused, expired, abandoned,
   * cancelled before it ran), or the record was written before this field existed (then `ok` and
   * `error` outcomes ran, at about the time of their intent; a `cancelled` one is taken as not started).
   */
  startedAt: z.string().optional(),
  /** Microseconds from the start of the call to this record. */
  latencyUs: z.number(),
});
export type CallOutcomeEvent = z.infer<typeof CallOutcomeEventSchema>;

export const CALL_OUTCOME: RecordKind<'call-outcome', CallOutcomeEvent> = {
  kind: 'call-outcome',
  current: 1,
  versions: { 1: CallOutcomeEventSchema },
  indexFields: (event) => callIndexFields(event, event.outcome),
};
