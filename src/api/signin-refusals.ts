/**
 * @module api/signin-refusals
 * How many `signin.refused` records an OIDC sign-in may append (decision 0023). Anyone the provider
 * authenticates can be refused — at a multi-tenant provider that is everyone with an account — and a
 * silent re-login makes each refusal a few redirects, while the audit log is append-only. So refusals
 * are recorded at most `perIdentity` times per identity and `overall` times in all per window; the
 * rest are counted, and the next record of that identity says how many were left out. The counts live
 * in this process's memory (each replica has its own budget), for at most `maxTracked` identities.
 */

export interface RefusalBudgetLimits {
  /** Records per identity per window. */
  readonly perIdentity: number;
  /** Records of all identities together per window (many accounts cannot flood the log either). */
  readonly overall: number;
  readonly windowMs: number;
  /** Identities whose counts are kept; the least recently refused are forgotten beyond it. */
  readonly maxTracked: number;
}

export const DEFAULT_REFUSAL_LIMITS: RefusalBudgetLimits = {
  perIdentity: 3,
  overall: 60,
  windowMs: 10 * 60_000,
  maxTracked: 10_000,
};

/** Whether to record this refusal, and how many refusals of the identity went unrecorded before it. */
export type RefusalVerdict =
  | { readonly record: true; readonly unrecorded: number }
  | { readonly record: false };

interface Window {
  startMs: number;
  recorded: number;
  unrecorded: number;
}

export class RefusalBudget {
  private readonly identities = new Map<string, Window>();
  private overall: Window = { startMs: Number.NEGATIVE_INFINITY, recorded: 0, unrecorded: 0 };

  constructor(
    private readonly clock: () => number,
    private readonly limits: RefusalBudgetLimits = DEFAULT_REFUSAL_LIMITS,
  ) {}

  /** Counts one refusal of `identity` and says whether it goes into the audit log. */
  take(identity: string): RefusalVerdict {
    const now = this.clock();
    if (now - this.overall.startMs >= this.limits.windowMs) {
      this.overall = { startMs: now, recorded: 0, unrecorded: 0 };
    }
    const window = this.windowOf(identity, now);
    if (window.recorded >= this.limits.perIdentity || this.overall.recorded >= this.limits.overall) {
      window.unrecorded += 1;
      return { record: false };
    }
    window.recorded += 1;
    this.overall.recorded += 1;
    const unrecorded = window.unrecorded;
    window.unrecorded = 0;
    return { record: true, unrecorded };
  }

  /** The identity's current window (a new one carries the previous one's unrecorded count over). */
  private windowOf(identity: string, now: number): Window {
    const known = this.identities.get(identity);
    this.identities.delete(identity); // re-inserted last: the map's order is the order of recency
    const window =
      known === undefined || now - known.startMs >= this.limits.windowMs
        ? { startMs: now, recorded: 0, unrecorded: known?.unrecorded ?? 0 }
        : known;
    this.identities.set(identity, window);
    if (this.identities.size > this.limits.maxTracked) {
      const oldest = this.identities.keys().next().value;
      if (oldest !== undefined) this.identities.delete(oldest);
    }
    return window;
  }
}
