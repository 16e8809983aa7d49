/**
 * @module spec/oversight
 * What humans act on: durable approval requests bound to one exact call, the votes cast on them, the
 * policy's requirement for who may approve, and who a human actor is. Shared by the stores, the
 * oversight service, the control-plane API and the CLI.
 */
import { z } from 'zod';
import { IdentitySchema, identityProblem, sameIdentity } from './human-identity.js';
import { ToolRefSchema } from './tool-call.js';

/** A human (or the CLI acting for one) with the roles they hold. */
export const ActorSchema = z.strictObject({
  /** Canonical form (spec/human-identity): separation of duties compares these. */
  id: IdentitySchema,
  roles: z.array(z.string().min(1)).default([]),
  /**
   * Other identities of the same human, e.g. the email an identity provider verified for a person
   * signed in as `oidc:<issuer>:<sub>`. Separation of duties counts every one of them as that human
   * (one vote per human, the owner recognised), so an alias can only ever restrict what they may do.
   */
  aliases: z.array(IdentitySchema).max(8).optional(),
});
export type Actor = z.infer<typeof ActorSchema>;

/** What separation of duties needs of an actor: who it is, under every name. */
type Known = { readonly id: string; readonly aliases?: readonly string[] | undefined };

/** Every identity an actor is known by: its id, then its aliases. */
export function identitiesOf(actor: Known): string[] {
  return [actor.id, ...(actor.aliases ?? [])];
}

/** Is `actor` the human named `identity` (by its id or any alias)? */
export function actorIs(actor: Known, identity: string): boolean {
  return identitiesOf(actor).some((each) => sameIdentity(each, identity));
}

/** Are two actors one human: does any identity of one name the other? */
export function sameHuman(a: Known, b: Known): boolean {
  return identitiesOf(a).some((identity) => actorIs(b, identity));
}

/** Built-in roles of human users; policy may name further roles (e.g. `finance-approvers`). */
export const BUILTIN_ROLES = ['viewer', 'approver', 'admin'] as const;

/**
 * Who must approve, from one matched `approve` rule. A call held by several rules needs every
 * requirement met.
 */
export const ApprovalRequirementSchema = z.strictObject({
  ruleId: z.string(),
  /** A vote counts for this requirement if the voter holds one of these roles. */
  approvers: z.array(z.string().min(1)).min(1),
  /** How many distinct approving votes this requirement needs. */
  quorum: z.number().int().min(1),
  /**
   * Separation of duties: when false, the requesting agent's owner may vote, but at least one approving
   * vote must come from someone else, so the owner can never approve alone.
   */
  ownerMayApprove: z.boolean(),
});
export type ApprovalRequirement = z.infer<typeof ApprovalRequirementSchema>;

export const ApprovalVoteSchema = z.strictObject({
  actor: ActorSchema,
  approved: z.boolean(),
  reason: z.string(),
  /** ISO 8601. */
  at: z.string(),
});
export type ApprovalVote = z.infer<typeof ApprovalVoteSchema>;

/**
 * `pending` until decided; `approved` once every requirement is met; `used` once the held call ran
 * (an approval is spent on exactly one call); `denied` on the first refusal; `expired` after
 * `expiresAt`; `cancelled` when the waiting call went away (client cancelled, session killed).
 */
export const ApprovalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired', 'used', 'cancelled']);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

export const ApprovalRecordSchema = z.strictObject({
  /** Equal to the decision id of the held call. */
  id: z.string().min(1),
  /** sha256 over principal chain, session, tool and arguments: the approval is valid for this call only. */
  callHash: z.string().min(1),
  agentId: z.string(),
  /** The human the agent acts for (separation of duties). */
  owner: IdentitySchema.optional(),
  delegatedBy: z.array(z.string()).default([]),
  sessionId: z.string(),
  tool: ToolRefSchema,
  /**
   * The arguments as recorded in the audit log, shown to approvers: secrets the redaction policy holds
   * appear as typed placeholders, the call runs with the originals once approved.
   */
  args: z.record(z.string(), z.unknown()),
  /** Why the call was held (the matching rules' reasons). */
  reasons: z.array(z.string()),
  requirements: z.array(ApprovalRequirementSchema),
  status: ApprovalStatusSchema,
  votes: z.array(ApprovalVoteSchema).default([]),
  /** ISO 8601. */
  createdAt: z.string(),
  expiresAt: z.string(),
  /** When the status last changed (ISO 8601). */
  updatedAt: z.string(),
});
export type ApprovalRecord = z.infer<typeof ApprovalRecordSchema>;

/** Whether a set of votes meets every requirement of a request (pure; used by every store). */
export function requirementsMet(record: Pick<ApprovalRecord, 'requirements' | 'votes' | 'owner'>): boolean {
  const approving = record.votes.filter((vote) => vote.approved);
  return record.requirements.every((requirement) => {
    const eligible = approving.filter(
      (vote) =>
        identityProblem(vote.actor.id) === undefined &&
        vote.actor.roles.some((role) => requirement.approvers.includes(role)),
    );
    // one human counts once, however their id is spelled and under whichever of their identities
    const counted = eligible.filter(
      (vote, index) => eligible.findIndex((other) => sameHuman(other.actor, vote.actor)) === index,
    );
    if (counted.length < requirement.quorum) return false;
    if (requirement.ownerMayApprove || record.owner === undefined) return true;
    const owner = record.owner;
    return counted.some((vote) => !actorIs(vote.actor, owner));
  });
}

/** A session as operators see it (the live state is shared across processes by the session store). */
export const SessionSummarySchema = z.strictObject({
  id: z.string(),
  agentId: z.string(),
  status: z.enum(['active', 'paused', 'killed']),
  /** ISO 8601. */
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Who last changed the status, and why. */
  changedBy: z.string().optional(),
  reason: z.string().optional(),
});
export type SessionSummary = z.infer<typeof SessionSummarySchema>;
