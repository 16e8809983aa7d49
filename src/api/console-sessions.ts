/**
 * @module api/console-sessions
 * Browser sessions of the web console. Logging in with an API token yields an opaque session id in
 * an HttpOnly, SameSite=Strict cookie (the token itself never stays in the browser) and a CSRF token
 * the console sends back in `X-CSRF-Token` on every write. Sessions live in this process's memory and
 * end after `ttlMs` of inactivity or on logout; a user deleted or given a new token is logged out at
 * the next request, because the session remembers which token hash it was opened with.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConsoleSession {
  readonly id: string;
  readonly userId: string;
  /** The token hash the session was opened with: a rotated or deleted token ends the session. */
  readonly tokenHash: string;
  readonly csrfToken: string;
  expiresAtMs: number;
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
    if (this.sessions.size >= this.maxSessions) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const session: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      userId,
      tokenHash,
      csrfToken: randomBytes(32).toString('base64url'),
      expiresAtMs: this.clock() + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for this cookie value (its expiry is extended), or undefined. */
  get(id: string): ConsoleSession | undefined {
    const session = this.sessions.get(id);
    if (session === undefined) return undefined;
    const now = this.clock();
    if (session.expiresAtMs <= now) {
      this.sessions.delete(id);
      return undefined;
    }
    session.expiresAtMs = now + this.ttlMs;
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
