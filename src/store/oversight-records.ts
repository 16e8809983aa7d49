/**
 * @module store/oversight-records
 * What both oversight stores (SQLite, PostgreSQL) share: the state machine of an approval request
 * (votes, quorum, expiry, single use) and of a session's control status, so both backends accept and
 * refuse exactly the same transitions. Pure functions over records; the stores run them inside a
 * transaction that holds the row.
 */
import { ReinsError } from '../spec/errors.js';
import {
  type ApprovalRecord,
  type ApprovalVote,
  ApprovalVoteSchema,
  requirementsMet,
  type SessionSummary,
  sameHuman,
} from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import { validateInput } from './identity-records.js';

/** A vote's effect on a request: the record to store, and the error to report after storing it. */
export interface VoteOutcome {
  readonly record: ApprovalRecord;
  readonly error?: ReinsError;
}

/**
 * Applies one vote. A request past its expiry becomes `expired` (stored, then reported as `expired`);
 * a request that is no longer pending, or a second vote by the same actor, is a `conflict`.
 */
export function applyVote(current: ApprovalRecord, input: ApprovalVote, now: Date): VoteOutcome {
  const vote = validateInput(ApprovalVoteSchema, input, 'approval vote');
  const at = now.toISOString();
  if (current.status === 'pending' && Date.parse(current.expiresAt) <= now.getTime()) {
    return {
      record: { ...current, status: 'expired', updatedAt: at },
      error: new ReinsError('expired', `approval request \`${current.id}\` expired at ${current.expiresAt}`),
    };
  }
  if (current.status !== 'pending') {
    throw new ReinsError('conflict', `approval request \`${current.id}\` is ${current.status}, not pending`, {
      status: current.status,
    });
  }
  // one human, one vote: under any of their identities (a local token and a provider sign-in)
  const earlier = current.votes.find((each) => sameHuman(each.actor, vote.actor));
  if (earlier !== undefined) {
    const as = earlier.actor.id === vote.actor.id ? '' : ` (as \`${earlier.actor.id}\`)`;
    throw new ReinsError('conflict', `\`${vote.actor.id}\` has already voted on \`${current.id}\`${as}`);
  }
  const votes = [...current.votes, vote];
  const status = !vote.approved
    ? 'denied'
    : requirementsMet({ requirements: current.requirements, votes, owner: current.owner })
      ? 'approved'
      : 'pending';
  return { record: { ...current, votes, status, updatedAt: at } };
}

/** `vote` on a request read under the write's lock: an unknown request is `not_found`. */
export function voteOnRequest(
  current: ApprovalRecord | undefined,
  id: string,
  vote: ApprovalVote,
  now: Date,
): VoteOutcome {
  if (current === undefined) throw new ReinsError('not_found', `unknown approval request \`${id}\``);
  return applyVote(current, vote, now);
}

/** `consume`: the request marked `used`, to store; undefined if it may not be spent on this call. */
export function spendApproval(
  current: ApprovalRecord | undefined,
  callHash: string,
  now: Date,
): ApprovalRecord | undefined {
  if (current === undefined || !canConsume(current, callHash)) return undefined;
  return { ...current, status: 'used', updatedAt: now.toISOString() };
}

/** The insert of a new request found its id taken. */
export function approvalExists(id: string): ReinsError {
  return new ReinsError('conflict', `approval request \`${id}\` already exists`);
}

/** The insert of an override found one for the same call. */
export function overrideExists(decisionId: string): ReinsError {
  return new ReinsError('conflict', `call \`${decisionId}\` already has an override`);
}

/** `pending` -> `expired` | `cancelled`; anything else is left as it is. */
export function closeRequest(
  current: ApprovalRecord,
  status: 'expired' | 'cancelled',
  now: Date,
): ApprovalRecord | undefined {
  if (current.status !== 'pending') return undefined;
  return { ...current, status, updatedAt: now.toISOString() };
}

/** Whether an approved request may be spent on the call with this hash. */
export function canConsume(current: ApprovalRecord, callHash: string): boolean {
  return current.status === 'approved' && current.callHash === callHash;
}

/** A session status change; a killed session stays killed. */
export function changeSessionStatus(
  current: SessionSummary,
  status: SessionStatus,
  change: { by: string; reason: string },
  now: Date,
): SessionSummary {
  if (current.status === 'killed' && status !== 'killed') {
    throw new ReinsError('conflict', `session \`${current.id}\` was killed: it cannot be resumed`);
  }
  return {
    ...current,
    status,
    updatedAt: now.toISOString(),
    changedBy: change.by,
    reason: change.reason,
  };
}

export function newSession(sessionId: string, agentId: string, now: Date): SessionSummary {
  const at = now.toISOString();
  return { id: sessionId, agentId, status: 'active', startedAt: at, updatedAt: at };
}

/** The agent of a session an operator killed or paused before it made a call: learnt when it opens. */
export const AGENT_NOT_SEEN = '';

/** Whether `open` can return the session as it is, without a write (it exists and its agent is known). */
export function openedBefore(current: SessionSummary): boolean {
  return current.agentId !== AGENT_NOT_SEEN;
}

/**
 * `open` of a session read under the write's lock: `known` as it is; a session an operator stopped
 * before it started learns its agent (`agent`: store the session's new body and agent); an unknown
 * one is `new` (insert it, unless another process just did).
 */
export function sessionOnOpen(
  current: SessionSummary | undefined,
  sessionId: string,
  agentId: string,
  now: Date,
): { write: 'none' | 'agent' | 'insert'; session: SessionSummary } {
  if (current === undefined) return { write: 'insert', session: newSession(sessionId, agentId, now) };
  if (openedBefore(current)) return { write: 'none', session: current };
  return { write: 'agent', session: { ...current, agentId } };
}

/**
 * A session after an operator's change. Operators kill or pause sessions they expect to start, so an
 * unknown session is created in that state (its first call is refused); resuming one is `not_found`.
 */
export function sessionAfterChange(
  current: SessionSummary | undefined,
  sessionId: string,
  status: SessionStatus,
  change: { by: string; reason: string },
  now: Date,
): SessionSummary {
  if (current !== undefined) return changeSessionStatus(current, status, change, now);
  if (status === 'active') throw new ReinsError('not_found', `unknown session \`${sessionId}\``);
  return changeSessionStatus(newSession(sessionId, AGENT_NOT_SEEN, now), status, change, now);
}
