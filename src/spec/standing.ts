/**
 * @module spec/standing
 * Whether whoever acts may still act: the agents behind a call are registered and active, and the
 * credential it rides on (or any it was delegated from, its session, its agents' credentials issued
 * until then) was not revoked. The shape is shared by the checker (`auth`, kept current by the
 * identity store's change feed) and the enforcement pipeline (`harness`), which consults it on every
 * decision and again before a held call is released.
 */

/** The credential a call rides on, as far as standing is concerned. */
export interface CallCredential {
  /** The credential's id (`jti`) first, then the ids of those it was delegated from. */
  readonly tokenIds: readonly string[];
  /** The Reins session it is bound to (`sid`); revoking that session revokes it. */
  readonly sessionId: string;
  /**
   * When it was issued (epoch ms): an agent revocation made at or after it applies. A stdio gateway
   * (`reins mcp`) has no token: it counts as holding one issued when it started.
   */
  readonly issuedAtMs: number;
}

/** Who acts: the agent and those who delegated to it, and the credential (if any) it acts on. */
export interface StandingSubject {
  readonly agentIds: readonly string[];
  /** None: agent state is checked, and any agent revocation still retained applies (fail closed). */
  readonly credential?: CallCredential;
}

/** Why a subject may not act; `code` is one of the credential error codes. */
export interface StandingRefusal {
  readonly code: 'revoked' | 'unknown_agent' | 'agent_not_active';
  readonly message: string;
}

/** What the pipeline consults. Checks are synchronous: the state behind them is kept in memory. */
export interface StandingCheck {
  /** Undefined when the subject is in good standing. */
  check(subject: StandingSubject): StandingRefusal | undefined;
  /** Like `check`, but reads the store first (the moment a held call would be released). */
  recheck(subject: StandingSubject): Promise<StandingRefusal | undefined>;
  /** Told after any change of agents or revocations has been applied; returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}
