/**
 * @module spec/records/credential-rejected
 * `credential-rejected`: a credential was refused (bad signature, expired, revoked, ...): who it claimed
 * to be, and why; or a summary of refusals counted rather than recorded one by one.
 */
import { z } from 'zod';
import { ToolRefSchema } from '../tool-call.js';
import { toolKeyOf } from '../tool-key.js';
import type { RecordKind } from './record-kind.js';

/** The searchable effect of every `credential-rejected` record. */
export const CREDENTIAL_REJECTED_EFFECT = 'rejected';

/** Version 1. */
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
export type CredentialRejectedEvent = z.infer<typeof CredentialRejectedEventSchema>;

export const CREDENTIAL_REJECTED: RecordKind<'credential-rejected', CredentialRejectedEvent> = {
  kind: 'credential-rejected',
  current: 1,
  versions: { 1: CredentialRejectedEventSchema },
  indexFields: (event) => ({
    time: event.time,
    kind: event.kind,
    decisionId: event.decisionId,
    sessionId: event.claimedSessionId,
    agentId: event.claimedAgentId,
    tool: event.tool ? toolKeyOf(event.tool) : '',
    effect: CREDENTIAL_REJECTED_EFFECT,
  }),
};
