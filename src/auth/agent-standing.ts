/**
 * @module auth/agent-standing
 * The standing of agents and credentials in this process: which agents exist and are active, and
 * which tokens, sessions and agents' credentials were revoked. Loaded from the identity store and
 * kept current by its change feed (`onChange`), so a suspension or revocation made by any process
 * applies here without a restart. The Authenticator checks every credential against it; the
 * enforcement pipeline checks every decision against it (and re-reads it before a held call is
 * released), so a transport that has no credential per request, like `reins mcp`, is covered too.
 */

import type { CredentialClaims } from '../spec/credential-claims.js';
import { delegatorsOf } from '../spec/credential-claims.js';
import type { AgentRecordV1, IdentityChange, RevocationKind, RevocationV1 } from '../spec/identity.js';
import type { CallCredential, StandingCheck, StandingRefusal, StandingSubject } from '../spec/standing.js';
import type { Principal } from '../spec/tool-call.js';
import type { IdentityStore } from '../store/state-stores.js';

/** Revocations by id, with the time they were made (credentials issued until then are revoked). */
type RevocationIndex = Map<string, number>;

/** How long after a failed read of a changed agent it is read again (it is refused meanwhile). */
const RETRY_MS = 1_000;

export class AgentStanding implements StandingCheck {
  private readonly revoked: Record<RevocationKind, RevocationIndex> = {
    token: new Map(),
    session: new Map(),
    agent: new Map(),
  };
  private readonly agents = new Map<string, AgentRecordV1>();
  private readonly listeners = new Set<() => void>();
  private readonly unsubscribe: () => void;
  private closed = false;
  /** The change being applied; the next one waits for it. */
  private applying: Promise<void> = Promise.resolve();

  private constructor(
    private readonly store: IdentityStore,
    private readonly clock: () => number,
  ) {
    // subscribed before loading: a change made meanwhile is applied twice at worst, never missed
    this.unsubscribe = store.onChange((change) => this.apply(change));
  }

  /** Loads every agent and the retained revocations, then follows the store's changes. */
  static async open(store: IdentityStore, clock: () => number = Date.now): Promise<AgentStanding> {
    const standing = new AgentStanding(store, clock);
    try {
      await standing.reload();
    } catch (error) {
      standing.close();
      throw error;
    }
    return standing;
  }

  /** The agent's record as last heard, if known. */
  agent(id: string): AgentRecordV1 | undefined {
    return this.agents.get(id);
  }

  /** The agent's record, read from the store when it is not known here yet. */
  async fetchAgent(id: string): Promise<AgentRecordV1 | undefined> {
    const known = this.agents.get(id);
    if (known !== undefined) return known;
    const agent = await this.store.getAgent(id);
    if (agent !== undefined) this.agents.set(agent.id, agent);
    return agent;
  }

  /** Applies a revocation here at once (the store tells the other processes). */
  remember(revocation: RevocationV1): void {
    const at = Date.parse(revocation.at);
    const index = this.revoked[revocation.kind];
    index.set(revocation.id, Math.max(index.get(revocation.id) ?? 0, at));
  }

  check(subject: StandingSubject): StandingRefusal | undefined {
    const { credential } = subject;
    // without a credential, every agent revocation still retained applies
    const issuedAtMs = credential?.issuedAtMs ?? Number.NEGATIVE_INFINITY;
    const revokedSince = (kind: RevocationKind, id: string) => {
      const at = this.revoked[kind].get(id);
      return at !== undefined && (kind === 'token' || issuedAtMs <= at);
    };
    if (credential !== undefined) {
      const [tokenId, ...ancestors] = credential.tokenIds;
      if (tokenId !== undefined && revokedSince('token', tokenId))
        return { code: 'revoked', message: 'the credential was revoked' };
      if (ancestors.some((ancestor) => revokedSince('token', ancestor)))
        return { code: 'revoked', message: 'a credential this one was delegated from was revoked' };
      if (revokedSince('session', credential.sessionId))
        return { code: 'revoked', message: `session \`${credential.sessionId}\` was revoked` };
    }
    for (const agentId of subject.agentIds) {
      const agent = this.agents.get(agentId);
      if (agent === undefined) return { code: 'unknown_agent', message: `unknown agent \`${agentId}\`` };
      if (agent.state !== 'active')
        return { code: 'agent_not_active', message: `agent \`${agentId}\` is ${agent.state}` };
      if (revokedSince('agent', agentId))
        return { code: 'revoked', message: `the credentials of agent \`${agentId}\` were revoked` };
    }
    return undefined;
  }

  async recheck(subject: StandingSubject): Promise<StandingRefusal | undefined> {
    const now = new Date(this.clock());
    for (const revocation of await this.store.revocations(now)) this.remember(revocation);
    for (const agentId of subject.agentIds) {
      const agent = await this.store.getAgent(agentId);
      if (agent === undefined) this.agents.delete(agentId);
      else this.agents.set(agentId, agent);
    }
    return this.check(subject);
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.listeners.clear();
  }

  private async reload(): Promise<void> {
    for (const agent of await this.store.listAgents()) this.agents.set(agent.id, agent);
    for (const revocation of await this.store.revocations(new Date(this.clock()))) this.remember(revocation);
  }

  /** Changes are applied in the order the store reports them (an agent's new state before a later revocation). */
  private apply(change: IdentityChange): void {
    this.applying = this.applying.then(() => this.applyOne(change));
  }

  private async applyOne(change: IdentityChange): Promise<void> {
    if (change.kind === 'revocation') {
      this.remember(change.revocation);
    } else if (change.kind === 'agent') {
      try {
        const agent = await this.store.getAgent(change.id);
        if (agent) this.agents.set(agent.id, agent);
      } catch {
        // fail closed: an agent whose new state cannot be read is refused until it can be
        this.agents.delete(change.id);
        if (!this.closed) setTimeout(() => this.apply(change), RETRY_MS).unref();
      }
    } else {
      return; // signing keys are the Authenticator's
    }
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // one listener must not keep the change from the others
      }
    }
  }
}

/** The standing subject of a verified credential: its agents, tokens, session and issue time. */
export function subjectOfClaims(claims: CredentialClaims): StandingSubject {
  return { agentIds: [claims.sub, ...delegatorsOf(claims)], credential: credentialOfClaims(claims) };
}

/** What the standing check needs of a verified credential. */
export function credentialOfClaims(claims: CredentialClaims): CallCredential {
  return { tokenIds: [claims.jti, ...claims.anc], sessionId: claims.sid, issuedAtMs: claims.iat * 1000 };
}

/**
 * Who a verified credential makes the caller: its principal, its session and the credential itself
 * (checked for standing on every call). The one mapping of `/mcp`, the remote protocol and the
 * in-process governor.
 */
export function callerOfCredential(auth: {
  principal: Principal;
  sessionId: string;
  claims: CredentialClaims;
}): {
  principal: Principal;
  sessionId: string;
  credential: CallCredential;
} {
  return {
    principal: auth.principal,
    sessionId: auth.sessionId,
    credential: credentialOfClaims(auth.claims),
  };
}
