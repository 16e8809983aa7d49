/**
 * @module api/console-sessions
 * Browser sessions of the web console. Logging in with an API token yields an opaque session id in
 * an HttpOnly, SameSite=Strict cookie (the token itself never stays in the browser) and a CSRF token
 * the console sends back in `X-CSRF-Token` on every write. Sessions live in this process's memory and
 * end after `ttlMs` of inactivity or on logout; a user deleted or given a new token is logged out at
 * the next request, because the session remembers which token hash it was opened with. A session
 * opened by OpenID Connect sign-in carries the user the provider vouched for (no stored user behind
 * it) and ends, whatever the activity, when the ID token it was opened with expires.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { HumanUser } from './users.js';

export interface ConsoleSession {
  readonly id: string;
  readonly userId: string;
  /** The token hash the session was opened with: a rotated or deleted token ends the session. */
  readonly tokenHash: string;
  readonly csrfToken: string;
  expiresAtMs: number;
  /** Opened by OIDC sign-in: the user as signed in (id, mapped roles), the ID token and its expiry. */
  readonly federated?: { readonly user: HumanUser; readonly endsAtMs: number; readonly idToken?: string };
}

export const SESSION_COOKIE = 'reins_console';
export const CSRF_HEADER = 'x-csrf-token';

export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
    /** Most concurrent sessions; the oldest are dropped beyond it (a login flood cannot grow memory). */
    private readonly maxSessions = 10_000,
  ) {}

  open(userId: string, tokenHash: string): ConsoleSession {
    return this.add({ userId, tokenHash, expiresAtMs: this.clock() + this.ttlMs });
  }

  /** A session for a user signed in through OIDC; it never outlives `endsAtMs` (the ID token's `exp`). */
  openFederated(user: HumanUser, endsAtMs: number, idToken?: string): ConsoleSession {
    const expiresAtMs = Math.min(this.clock() + this.ttlMs, endsAtMs);
    const federated = { user, endsAtMs, ...(idToken === undefined ? {} : { idToken }) };
    return this.add({ userId: user.id, tokenHash: '', expiresAtMs, federated });
  }

  private add(fields: Omit<ConsoleSession, 'id' | 'csrfToken'>): ConsoleSession {
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const session: ConsoleSession = {
      ...fields,
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for this cookie value (its expiry is extended), or undefined. */
  get(id: string): ConsoleSession | undefined {
    const session = this.peek(id);
    if (session === undefined) return undefined;
    const endsAtMs = session.federated?.endsAtMs ?? Number.POSITIVE_INFINITY;
    session.expiresAtMs = Math.min(this.clock() + this.ttlMs, endsAtMs);
    return session;
  }

  /**
   * The live session, without counting as activity: for a long-lived response (the event stream)
   * re-checking that its session still holds, which must not keep an idle console signed in.
   */
  peek(id: string): ConsoleSession | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAtMs <= this.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return session;
  }

  close(id: string): void {
    this.sessions.delete(id);
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: ConsoleSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken);
  const actual = Buffer.from(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
