/**
 * @module harness/session-registry
 * Session state the pipeline keeps between calls: which agent owns the session, its status
 * (active, paused, killed), and the history of calls that ran (for sequence rules).
 * In memory (this class); harness/shared-session-registry shares the status through the store.
 */
import type { HistoryEntry, SessionStatus, SessionView } from '../spec/tool-call.js';

export interface SessionRecord extends SessionView {
  readonly agentId: string;
}

export interface SessionRegistry {
  /** The session, opened for `agentId` if it does not exist yet. */
  open(sessionId: string, agentId: string, now: number): SessionRecord;
  get(sessionId: string): SessionRecord | undefined;
  /** Appends a call that was let through to the session's history; the entry's outcome is updated in place. */
  recordCall(sessionId: string, entry: HistoryEntry): void;
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
  history: HistoryEntry[];
  labels: string[];
}

export class MemorySessionRegistry implements SessionRegistry {
  private readonly sessions = new Map<string, MutableSession>();
  private readonly watchers = new Map<string, Set<(status: SessionStatus) => void>>();

  open(sessionId: string, agentId: string, now: number): SessionRecord {
    let session = this.sessions.get(sessionId);
    if (session === undefined) {
      session = { id: sessionId, agentId, status: 'active', startedAt: now, history: [], labels: [] };
      this.sessions.set(sessionId, session);
    }
    return session;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  recordCall(sessionId: string, entry: HistoryEntry): void {
    this.sessions.get(sessionId)?.history.push(entry);
  }

  setStatus(sessionId: string, status: SessionStatus): void {
    const session = this.sessions.get(sessionId);
    if (session === undefined) throw new Error(`unknown session \`${sessionId}\``);
    // fail closed: a killed session stays killed
    if (session.status === 'killed' && status !== 'killed') {
      throw new Error(`session \`${sessionId}\` was killed and cannot be resumed`);
    }
    session.status = status;
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
}
