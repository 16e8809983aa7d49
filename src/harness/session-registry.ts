/**
 * @module harness/session-registry
 * The control state of sessions in this process: which agent owns a session and its status (active,
 * paused, killed). What a session did (its history, its data flow) is not kept here but read from the
 * audit log (harness/session-states, decision 0020). In memory (this class);
 * harness/shared-session-registry shares the status through the store.
 *
 * Bounded: past `maxSessions`, the least recently used active sessions nobody watches leave memory
 * (they are opened again, active, on their next call). Stopped sessions stay: forgetting one would
 * resume it.
 */
import type { SessionStatus } from '../spec/tool-call.js';

export interface SessionRecord {
  readonly id: string;
  readonly agentId: string;
  readonly status: SessionStatus;
  /** Epoch milliseconds: when this process first saw it. */
  readonly startedAt: number;
}

export interface SessionRegistry {
  /** The session, opened for `agentId` if it does not exist yet. */
  open(sessionId: string, agentId: string, now: number): SessionRecord;
  /**
   * `open`, as the shared store has the session: its owner is the agent that opened it first, in any
   * process. Registries shared through a store implement it; the harness prefers it to `open`.
   */
  ensure?(sessionId: string, agentId: string, now: number): Promise<SessionRecord>;
  get(sessionId: string): SessionRecord | undefined;
  /**
   * The session's status as this process knows it, also for a session it has not opened (a registry
   * shared through a store hears every stop); `active` for one nobody stopped.
   */
  statusOf(sessionId: string): SessionStatus;
  setStatus(sessionId: string, status: SessionStatus): void;
  list(): SessionRecord[];
  /** Tells `listener` about status changes of one session (a held call stops waiting when it is killed). */
  watch?(sessionId: string, listener: (status: SessionStatus) => void): () => void;
}

interface MutableSession {
  id: string;
  agentId: string;
  status: SessionStatus;
  startedAt: number;
}

const DEFAULT_MAX_SESSIONS = 10_000;

export class MemorySessionRegistry implements SessionRegistry {
  /** Least recently opened first. */
  private readonly sessions = new Map<string, MutableSession>();
  private readonly watchers = new Map<string, Set<(status: SessionStatus) => void>>();

  constructor(private readonly maxSessions = DEFAULT_MAX_SESSIONS) {}

  open(sessionId: string, agentId: string, now: number): SessionRecord {
    let session = this.sessions.get(sessionId);
    if (session === undefined) {
      session = { id: sessionId, agentId, status: 'active', startedAt: now };
    } else {
      this.sessions.delete(sessionId);
    }
    this.sessions.set(sessionId, session);
    if (this.sessions.size > this.maxSessions) this.evict();
    return session;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  statusOf(sessionId: string): SessionStatus {
    return this.sessions.get(sessionId)?.status ?? 'active';
  }

  setStatus(sessionId: string, status: SessionStatus): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) throw new Error(`unknown session \`${sessionId}\``);
    // fail closed: a killed session stays killed
    if (session.status === 'killed' && status !== 'killed') {
      throw new Error(`session \`${sessionId}\` was killed and cannot be resumed`);
    }
    session.status = status;
    this.notify(sessionId, status);
  }

  /** Tells the session's watchers its status (also when this process has not opened the session). */
  protected notify(sessionId: string, status: SessionStatus): void {
    for (const listener of [...(this.watchers.get(sessionId) ?? [])]) listener(status);
  }

  watch(sessionId: string, listener: (status: SessionStatus) => void): () => void {
    let listeners = this.watchers.get(sessionId);
    if (listeners === undefined) {
      listeners = new Set();
      this.watchers.set(sessionId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.watchers.delete(sessionId);
    };
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  private evict(): void {
    for (const [id, session] of this.sessions) {
      if (this.sessions.size <= this.maxSessions) return;
      if (session.status === 'active' && !this.watchers.has(id)) this.sessions.delete(id);
    }
  }
}
