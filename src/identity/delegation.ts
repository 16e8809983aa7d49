/**
 * @module identity/delegation
 * Token exchange for delegated work, in the spirit of RFC 8693: an agent presents its credential and
 * asks for a child credential for another agent and a named task. Delegation only narrows:
 * - scopes: what the parent holds AND what the child agent's mission allows (asking for more is refused);
 * - time: the child expires no later than the parent (asking to outlive it is refused);
 * - depth: bounded; every hop is named in the `act` chain and every ancestor token id is in `anc`;
 * - lineage: the sessions delegated from are in `psn`, so the child's session inherits their data-flow
 *   state (labels, untrusted values), and the child's session may not be one of them.
 * Pure: the caller has verified the parent credential and looked up the child agent.
 */
import { type CredentialClaims, lineageProblem } from '../spec/credential-claims.js';
import type { AgentRecordV1 } from '../spec/identity.js';
import { covers, intersectScopes } from '../spec/scopes.js';
import {
  CredentialError,
  claimedScopes,
  DEFAULT_TOKEN_TTL_SECONDS,
  type IssueRequest,
  requestedScopes,
} from './tokens.js';

export const DEFAULT_MAX_DELEGATION_DEPTH = 3;

export interface DelegationRequest {
  /** The agent that will do the task. */
  readonly agent: AgentRecordV1;
  readonly task: string;
  /** Scopes asked for; default: everything both the parent and the child's mission allow. */
  readonly scopes?: readonly string[];
  readonly ttlSeconds?: number;
  /** Session of the delegated work; default `<parent session>/<task>`. */
  readonly sessionId?: string;
}

export function planDelegation(
  parent: CredentialClaims,
  request: DelegationRequest,
  nowSeconds: number,
  maxDepth = DEFAULT_MAX_DELEGATION_DEPTH,
): IssueRequest {
  const { agent } = request;
  if (agent.state !== 'active')
    throw new CredentialError('agent_not_active', `agent \`${agent.id}\` is ${agent.state}`);
  const depth = parent.dpt + 1;
  if (depth > maxDepth) {
    throw new CredentialError('depth_exceeded', `delegation depth ${depth} exceeds the limit of ${maxDepth}`);
  }
  const held = claimedScopes(parent);
  let scopes: string[];
  if (request.scopes !== undefined) {
    for (const scope of requestedScopes(request.scopes)) {
      if (!held.some((outer) => covers(outer, scope))) {
        throw new CredentialError(
          'scope_not_held',
          `the delegating credential does not hold scope \`${scope}\``,
        );
      }
      if (!agent.scopes.some((outer) => covers(outer, scope))) {
        throw new CredentialError(
          'scope_not_held',
          `scope \`${scope}\` is outside the mission of agent \`${agent.id}\``,
        );
      }
    }
    scopes = [...request.scopes];
  } else {
    scopes = intersectScopes(held, agent.scopes);
  }
  if (scopes.length === 0) {
    throw new CredentialError(
      'scope_not_held',
      `agent \`${agent.id}\` may do nothing that the delegating credential allows`,
    );
  }
  const ttl = request.ttlSeconds;
  const expiresAt =
    ttl === undefined ? Math.min(nowSeconds + DEFAULT_TOKEN_TTL_SECONDS, parent.exp) : nowSeconds + ttl;
  if (!(ttl === undefined || ttl > 0))
    throw new CredentialError('malformed', `ttl must be positive, got \`${ttl}\``);
  if (expiresAt > parent.exp) {
    throw new CredentialError(
      'outlives_parent',
      `the child credential would expire ${expiresAt - parent.exp} s after the credential that delegates it`,
    );
  }
  const sessionId = request.sessionId ?? `${parent.sid}/${request.task}`;
  const parentSessions = [...parent.psn, parent.sid];
  const problem = lineageProblem({ sid: sessionId, dpt: depth, psn: parentSessions });
  if (problem !== undefined) throw new CredentialError('malformed', problem);
  return {
    agentId: agent.id,
    sessionId,
    scopes,
    notBefore: nowSeconds,
    expiresAt,
    depth,
    ancestors: [...parent.anc, parent.jti],
    parentSessions,
    actor: parent.act ? { sub: parent.sub, act: parent.act } : { sub: parent.sub },
    task: request.task,
  };
}
