/**
 * @module harness/session-registry
 * Session state the pipeline keeps between calls: which agent owns the session, its status
 * (active, paused, killed), and the history of calls that ran (for sequence rules).
 * In memory for now; the interface is what a store-backed registry will implement.
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
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }
}
