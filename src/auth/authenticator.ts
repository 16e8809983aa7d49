/**
 * @module auth/authenticator
 * `authenticate(bearer) -> principal chain | clear error`, for the gateway and the API server, plus
 * issuing credentials and delegating them (token exchange).
 *
 * Verification on the hot path is cached per token, but a cached entry never outlives the token's
 * expiry, and revocations and agent state are checked on every call against the agent standing
 * (`auth/agent-standing`), which the identity store keeps current in every process (`onChange`). Every
 * refusal is counted in the audit log (`credential-rejected`) when one is configured: recorded one by one
 * up to a bound per window, the rest in summary records (auth/refusal-recorder), so an unauthenticated
 * caller cannot flood the log.
 */
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { planDelegation } from '../identity/delegation.js';
import { type CredentialKeySource, KeyRing, MAX_TOKEN_LIFETIME_MS } from '../identity/key-ring.js';
import {
  CredentialError,
  claimedScopes,
  DEFAULT_TOKEN_TTL_SECONDS,
  issueToken,
  MAX_TOKEN_LIFETIME_SECONDS,
  REVOCATION_RETENTION_MS,
  requestedScopes,
  type TokenSettings,
  verifyToken,
} from '../identity/tokens.js';
import type { CredentialRejectedEvent } from '../spec/audit-event.js';
import { type CredentialClaims, type CredentialErrorCode, delegatorsOf } from '../spec/credential-claims.js';
import { describeError } from '../spec/errors.js';
import type { AgentRecordV1, RevocationKind, RevocationV1 } from '../spec/identity.js';
import { covers } from '../spec/scopes.js';
import type { Principal, ToolRef } from '../spec/tool-call.js';
import type { AuditLog } from '../store/audit-log.js';
import type { IdentityStore } from '../store/state-stores.js';
import { AgentStanding, subjectOfClaims } from './agent-standing.js';
import { bearerToken } from './bearer-token.js';
import { type RefusalLimits, RefusalRecorder } from './refusal-recorder.js';

export interface AuthenticatorOptions {
  readonly store: IdentityStore;
  /** Where the signing key and the verification keys come from: never the store (decision 0011). */
  readonly keys: CredentialKeySource;
  /** Warnings, e.g. about signing keys an earlier version left in the store. */
  readonly log?: (line: string) => void;
  /** Where refusals are recorded. */
  readonly audit?: AuditLog;
  /** How many refusals are recorded one by one per window (the rest are counted into summaries). */
  readonly refusals?: RefusalLimits;
  /** Told the code of every credential refused, recorded or not (metrics). Must not throw. */
  readonly onRefused?: (code: CredentialErrorCode) => void;
  readonly tokens?: TokenSettings;
  /** Most delegation hops. Default 3. */
  readonly maxDelegationDepth?: number;
  /** Verified tokens kept in the cache. Default 10,000. */
  readonly cacheSize?: number;
  /**
   * Now, in ms since the epoch (default `Date.now`): the one time source of issuing, verifying (expiry,
   * not-before, key validity, the cache), revoking and refusal records. Tests pass their own instead of
   * sleeping until a token expires or the next issue second comes.
   */
  readonly clock?: () => number;
}

export type AuthResult =
  | {
      readonly ok: true;
      readonly principal: Principal;
      readonly sessionId: string;
      readonly claims: CredentialClaims;
    }
  | { readonly ok: false; readonly code: CredentialErrorCode; readonly message: string };

/**
 * Delegation refused because the delegating credential itself is (invalid, expired, revoked, its agent
 * suspended...), not because of what it asked for: callers that answer in other terms (RFC 8693's
 * token exchange) tell the two apart by this class. `code` is the credential's refusal code.
 */
export class DelegatingCredentialRefused extends CredentialError {}

export interface IssueOptions {
  readonly sessionId?: string;
  /** Default: the agent's whole mission scope. Must lie within it. */
  readonly scopes?: readonly string[];
  readonly ttlSeconds?: number;
}

/**
 * The token alone, whether given bare or as an Authorization header's value (the in-process governor
 * passes `Bearer <token>`), read as the listeners read that header; anything else is left to fail
 * verification as given.
 */
function withoutScheme(bearer: string): string {
  return bearerToken(bearer) ?? bearer;
}

interface CachedClaims {
  readonly claims: CredentialClaims;
  readonly expiresAtMs: number;
}

export class Authenticator {
  private readonly cache = new Map<string, CachedClaims>();
  private ring: KeyRing;
  private readonly clock: () => number;
  private readonly cacheSize: number;
  private readonly refusals: RefusalRecorder | undefined;

  private constructor(
    private readonly options: AuthenticatorOptions,
    ring: KeyRing,
    /** Agents and revocations, current in every process; the pipeline checks calls against it too. */
    readonly standing: AgentStanding,
  ) {
    this.ring = ring;
    this.clock = options.clock ?? Date.now;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.refusals = options.audit && new RefusalRecorder(options.audit, options.refusals ?? {}, this.clock);
  }

  /** Loads the keys from the key source, agents and revocations from the store. */
  static async open(options: AuthenticatorOptions): Promise<Authenticator> {
    const ring = KeyRing.fromKeys(await options.keys.load());
    // keys an earlier version kept in the store were readable by anyone who could read it: never trusted
    const dropped = await options.store.dropLegacySigningKeys();
    if (dropped > 0)
      options.log?.(
        `deleted ${dropped} credential signing key(s) an earlier version kept in the store; credentials they signed are no longer accepted (issue new ones; see docs/decisions/0011-key-custody.md)`,
      );
    const standing = await AgentStanding.open(options.store, options.clock);
    return new Authenticator(options, ring, standing);
  }

  /** Verifies a bearer credential and maps it to the principal the policy sees. Never throws. */
  async authenticate(bearer: string, context: { tool?: ToolRef } = {}): Promise<AuthResult> {
    try {
      const claims = await this.verified(bearer);
      const refusal = this.standing.check(subjectOfClaims(claims));
      if (refusal !== undefined) throw new CredentialError(refusal.code, refusal.message);
      const agent = this.standing.agent(claims.sub) as AgentRecordV1;
      const principal: Principal = {
        agentId: claims.sub,
        roles: [...agent.roles],
        owner: agent.owner,
        delegatedBy: delegatorsOf(claims).reverse(), // outermost first
        parentSessions: [...claims.psn], // outermost first: the session inherits their data-flow state
        scopes: claimedScopes(claims),
      };
      return { ok: true, principal, sessionId: claims.sid, claims };
    } catch (error) {
      const refusal =
        error instanceof CredentialError
          ? error
          : new CredentialError('malformed', `credential check failed: ${describeError(error)}`);
      await this.recordRefusal(bearer, refusal, context.tool);
      return { ok: false, code: refusal.code, message: refusal.message };
    }
  }

  /** A credential for an agent acting on its own task. */
  async issue(
    agentId: string,
    options: IssueOptions = {},
  ): Promise<{ token: string; claims: CredentialClaims }> {
    const agent = await this.activeAgent(agentId);
    const scopes = requestedScopes(options.scopes ?? agent.scopes);
    for (const scope of scopes) {
      if (!agent.scopes.some((outer) => covers(outer, scope))) {
        throw new CredentialError(
          'scope_not_held',
          `scope \`${scope}\` is outside the mission of agent \`${agentId}\``,
        );
      }
    }
    await this.reloadKeysIfChanged();
    const now = Math.floor(this.clock() / 1000);
    const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!(ttl > 0)) throw new CredentialError('malformed', `ttl must be positive, got \`${ttl}\``);
    if (ttl > MAX_TOKEN_LIFETIME_SECONDS)
      throw new CredentialError(
        'malformed',
        `ttl must be at most ${MAX_TOKEN_LIFETIME_SECONDS} s (24 h), the time revocations are kept; got \`${ttl}\``,
      );
    return issueToken(
      this.ring,
      { agentId, sessionId: options.sessionId ?? randomUUID(), scopes, notBefore: now, expiresAt: now + ttl },
      this.options.tokens,
    );
  }

  /**
   * Token exchange: the holder of `parentToken` delegates a task to another agent. The child credential
   * only narrows (scopes, time, depth). A refused exchange is audited like a refused credential.
   */
  async delegate(
    parentToken: string,
    request: {
      agentId: string;
      task: string;
      scopes?: readonly string[];
      ttlSeconds?: number;
      sessionId?: string;
    },
  ): Promise<{ token: string; claims: CredentialClaims }> {
    const parent = await this.authenticate(parentToken);
    if (!parent.ok)
      throw new DelegatingCredentialRefused(
        parent.code,
        `the delegating credential is refused: ${parent.message}`,
      );
    try {
      const agent = await this.activeAgent(request.agentId);
      const plan = planDelegation(
        parent.claims,
        {
          agent,
          task: request.task,
          ...(request.scopes ? { scopes: request.scopes } : {}),
          ...(request.ttlSeconds !== undefined ? { ttlSeconds: request.ttlSeconds } : {}),
          ...(request.sessionId ? { sessionId: request.sessionId } : {}),
        },
        Math.floor(this.clock() / 1000),
        this.options.maxDelegationDepth,
      );
      await this.reloadKeysIfChanged();
      return await issueToken(this.ring, plan, this.options.tokens);
    } catch (error) {
      const refusal =
        error instanceof CredentialError
          ? error
          : new CredentialError('malformed', `delegation failed: ${describeError(error)}`);
      await this.recordRefusal(
        parentToken,
        refusal,
        undefined,
        `delegation to \`${request.agentId}\` refused: `,
      );
      throw refusal;
    }
  }

  /** Revokes one token, a session's tokens or an agent's tokens issued until now, in every process. */
  async revoke(kind: RevocationKind, id: string, change: { by: string; reason?: string }): Promise<void> {
    const now = this.clock();
    const revocation: RevocationV1 = {
      kind,
      id,
      at: new Date(now).toISOString(),
      // every token it can hit has expired by then (lifetimes are capped; delegation cannot extend them)
      until: new Date(now + REVOCATION_RETENTION_MS).toISOString(),
      by: change.by,
      reason: change.reason ?? '',
    };
    this.standing.remember(revocation); // at once in this process; the store tells the others
    await this.options.store.revoke(revocation);
  }

  /**
   * Re-reads the key source when it says it changed (another process rotated the key): before signing,
   * and when a token names a key this process does not know. Returns whether the keys were reloaded.
   */
  async reloadKeysIfChanged(): Promise<boolean> {
    if (!this.options.keys.changed?.()) return false;
    this.ring = KeyRing.fromKeys(await this.options.keys.load());
    this.cache.clear();
    return true;
  }

  /** The kid new credentials are signed with. */
  signingKeyId(): string {
    return this.ring.signer.keyId;
  }

  jwks() {
    return this.ring.jwks(new Date(this.clock()));
  }

  /** Stops listening for identity changes and writes the refusals counted but not recorded yet. */
  close(): Promise<void> {
    this.standing.close();
    return this.refusals?.flush() ?? Promise.resolve();
  }

  /** Signature and claims, from the cache when this exact token was verified before and has not expired. */
  private async verified(bearer: string): Promise<CredentialClaims> {
    const token = withoutScheme(bearer);
    const now = this.clock();
    const cached = this.cache.get(token);
    if (cached !== undefined) {
      if (cached.expiresAtMs > now) return cached.claims;
      this.cache.delete(token);
    }
    const claims = await verifyToken(this.ring, token, new Date(now), this.options.tokens).catch(
      async (error: unknown) => {
        // a key rotated in by another process: reload once and try again
        if (!(error instanceof CredentialError && error.code === 'unknown_key')) throw error;
        if (!(await this.reloadKeysIfChanged())) throw error;
        return verifyToken(this.ring, token, new Date(now), this.options.tokens);
      },
    );
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(token, { claims, expiresAtMs: claims.exp * 1000 });
    return claims;
  }

  private async activeAgent(agentId: string): Promise<AgentRecordV1> {
    const agent = await this.standing.fetchAgent(agentId);
    if (agent === undefined) throw new CredentialError('unknown_agent', `unknown agent \`${agentId}\``);
    if (agent.state !== 'active')
      throw new CredentialError('agent_not_active', `agent \`${agentId}\` is ${agent.state}`);
    return agent;
  }

  private tellRefused(code: CredentialErrorCode): void {
    try {
      this.options.onRefused?.(code);
    } catch {
      // a metric never changes an answer
    }
  }

  private async recordRefusal(
    bearer: string,
    refusal: CredentialError,
    tool: ToolRef | undefined,
    prefix = '',
  ): Promise<void> {
    this.tellRefused(refusal.code);
    if (this.refusals === undefined) return;
    // what the token claims, for the record; unverified by definition
    let claimed: { sub?: unknown; sid?: unknown; jti?: unknown } = {};
    try {
      claimed = decodeJwt(withoutScheme(bearer));
    } catch {
      // not even decodable: record it without claims
    }
    const id = randomUUID();
    const event: CredentialRejectedEvent = {
      v: 1,
      id,
      time: new Date(this.clock()).toISOString(),
      kind: 'credential-rejected',
      decisionId: id,
      claimedAgentId: typeof claimed.sub === 'string' ? claimed.sub.slice(0, 128) : '',
      claimedSessionId: typeof claimed.sid === 'string' ? claimed.sid.slice(0, 128) : '',
      code: refusal.code,
      message: `${prefix}${refusal.message}`,
    };
    if (typeof claimed.jti === 'string') event.tokenId = claimed.jti.slice(0, 128);
    if (tool) event.tool = tool;
    await this.refusals.record(event);
  }
}

export { CredentialError, MAX_TOKEN_LIFETIME_MS };
