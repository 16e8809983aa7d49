/**
 * @module spec/audit-event
 * The audit record format and the stored, hash-chained form of it. Every call yields two events sharing
 * a `decisionId`: `call-intent` (the attempt and its decision, durable before anything runs) and
 * `call-outcome` (what happened, linked to the intent).
 *
 * Each record kind is defined once, with its versions, in spec/records/<kind>.ts; this module gathers
 * them under the names the rest of the code uses. How the format may change (adding a field, a new
 * version of a kind) is docs/record-format.md; old records verify forever because the chain hashes the
 * exact stored body, and `readAuditRecord` reads every version of every kind this code knows.
 */
import { z } from 'zod';
import { CALL_INTENT, CallIntentEventSchema } from './records/call-intent.js';
import { CALL_OUTCOME, CallOutcomeEventSchema } from './records/call-outcome.js';
import { CREDENTIAL_REJECTED, CredentialRejectedEventSchema } from './records/credential-rejected.js';
import { OPERATOR_ACTION, OperatorActionEventSchema } from './records/operator-action.js';
import type { AuditIndexFields } from './records/record-kind.js';
import { RESTORE, RestoreEventSchema } from './records/restore.js';
import { TOOL_PINNING, ToolPinningEventSchema } from './records/tool-pinning.js';
import { storableText } from './storable-text.js';

export {
  AuditDecisionSchema,
  type AuditLink,
  AuditLinkSchema,
  type Outcome,
  OutcomeSchema,
} from './records/call-fields.js';
export { type CallIntentEvent, CallIntentEventSchema } from './records/call-intent.js';
export { type CallOutcomeEvent, CallOutcomeEventSchema } from './records/call-outcome.js';
export {
  CREDENTIAL_REJECTED_EFFECT,
  type CredentialRejectedEvent,
  CredentialRejectedEventSchema,
} from './records/credential-rejected.js';
export { type OperatorActionEvent, OperatorActionEventSchema } from './records/operator-action.js';
export {
  type AuditRecordEvent,
  RECORD_KINDS,
  type RecordProblem,
  type RecordReading,
  readAuditRecord,
  readAuditRecordValue,
} from './records/read-record.js';
export type { AuditIndexFields, RecordKind } from './records/record-kind.js';
export {
  type LostRange,
  RESTORE_EFFECT,
  type RestoreEvent,
  RestoreEventSchema,
  restoreMessage,
} from './records/restore.js';
export { type ToolPinningEvent, ToolPinningEventSchema } from './records/tool-pinning.js';
/** `server/name`, as the audit index's `tool` field (and the monitor's baselines) hold it. */
export { toolKeyOf } from './tool-key.js';

/**
 * What writers write: every kind at its current version (all `v: 1` today; the name is historical).
 * Readers of stored bodies use `readAuditRecord`, which also reads older versions of a kind.
 */
export const AuditEventV1Schema = z.discriminatedUnion('kind', [
  CallIntentEventSchema,
  CallOutcomeEventSchema,
  CredentialRejectedEventSchema,
  ToolPinningEventSchema,
  OperatorActionEventSchema,
  RestoreEventSchema,
]);
export type AuditEventV1 = z.infer<typeof AuditEventV1Schema>;

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

/** Derives the searchable fields of an event: each kind's module decides its own. */
export function indexFieldsOf(event: AuditEventV1): AuditIndexFields {
  switch (event.kind) {
    case 'call-intent':
      return CALL_INTENT.indexFields(event);
    case 'call-outcome':
      return CALL_OUTCOME.indexFields(event);
    case 'credential-rejected':
      return CREDENTIAL_REJECTED.indexFields(event);
    case 'tool-pinning':
      return TOOL_PINNING.indexFields(event);
    case 'operator-action':
      return OPERATOR_ACTION.indexFields(event);
    case 'restore':
      return RESTORE.indexFields(event);
  }
}

/**
 * Serialises an event once, for hashing and storing. The body is JSON, which escapes broken Unicode
 * and NUL; the searchable fields are stored as text, which cannot hold them (SQLite would keep bytes
 * that read back as other characters, and the record would no longer match its hash; PostgreSQL
 * refuses NUL), so each is kept as text every store holds: a lone surrogate (an unverified claim, a
 * name cut in half) or a NUL becomes U+FFFD. Such an event is recorded all the same.
 */
export function prepareEvent(event: AuditEventV1): PreparedEvent {
  const fields = indexFieldsOf(event);
  return {
    body: JSON.stringify(event),
    time: storableText(fields.time),
    kind: fields.kind,
    decisionId: storableText(fields.decisionId),
    sessionId: storableText(fields.sessionId),
    agentId: storableText(fields.agentId),
    tool: storableText(fields.tool),
    effect: storableText(fields.effect),
  };
}
