/**
 * @module harness/shared-session-registry
 * Sessions whose control status (active, paused, killed) is shared by every process on the store:
 * the history stays in this process (sequence rules need it synchronously), while pause, resume and
 * kill come from the session control store's change feed and apply here at once, also to calls
 * waiting for approval. New sessions are registered in the store so operators see them.
 */
import { describeError } from '../spec/errors.js';
import type { SessionSummary } from '../spec/oversight.js';
import type { SessionStatus } from '../spec/tool-call.js';
import type { SessionControlStore } from '../store/state-stores.js';
import { MemorySessionRegistry, type SessionRecord } from './session-registry.js';

export class SharedSessionRegistry extends MemorySessionRegistry {
  /** Statuses heard from the store for sessions this process has not opened (yet). */
  private readonly known = new Map<string, SessionStatus>();
  private unsubscribe: (() => void) | undefined;

  private constructor(
    private readonly store: SessionControlStore,
    private readonly onError: (message: string) => void,
  ) {
    super();
  }

  /**
   * Subscribes to the store's changes and loads every session that is not active, so that a session
   * paused or killed before this process started is stopped here too.
   */
  static async start(
    store: SessionControlStore,
    onError: (message: string) => void = () => {},
  ): Promise<SharedSessionRegistry> {
    const registry = new SharedSessionRegistry(store, onError);
    registry.unsubscribe = store.onChange((session) => registry.apply(session));
    for (const status of ['paused', 'killed'] as const) {
      for (const session of await store.list({ status })) registry.apply(session);
    }
    return registry;
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  override open(sessionId: string, agentId: string, now: number): SessionRecord {
    const existing = this.get(sessionId);
    if (existing !== undefined) return existing;
    const session = super.open(sessionId, agentId, now);
    const status = this.known.get(sessionId);
    if (status !== undefined && status !== 'active') super.setStatus(sessionId, status);
    this.store.open(sessionId, agentId, new Date(now)).then(
      (stored) => this.apply(stored),
      (error: unknown) => this.onError(`cannot register session \`${sessionId}\`: ${describeError(error)}`),
    );
    return this.get(sessionId) ?? session;
  }

  /**
   * The session with the owner and status the store has: a session this process has not seen (new
   * here, or forgotten while idle) is registered in the store first, which answers with the agent that
   * opened it first anywhere — so another agent cannot take over a session by reaching a replica that
   * has not seen it. One round trip per session and process; later calls find it in memory.
   */
  async ensure(sessionId: string, agentId: string, now: number): Promise<SessionRecord> {
    const existing = this.get(sessionId);
    if (existing !== undefined) return super.open(sessionId, existing.agentId, now);
    const stored = await this.store.open(sessionId, agentId, new Date(now));
    const session = super.open(sessionId, stored.agentId || agentId, now);
    this.apply(stored);
    return this.get(sessionId) ?? session;
  }

  override statusOf(sessionId: string): SessionStatus {
    const local = this.get(sessionId);
    if (local?.status === 'killed') return 'killed';
    return local?.status ?? this.known.get(sessionId) ?? 'active';
  }

  /** A status the store reports, from any process. */
  private apply(session: SessionSummary): void {
    // only stopped sessions need remembering: an unknown session is active
    if (session.status === 'active') this.known.delete(session.id);
    else this.known.set(session.id, session.status);
    const local = this.get(session.id);
    // calls of a session this process has not opened may still wait on it (served by any replica)
    if (local === undefined) {
      this.notify(session.id, session.status);
      return;
    }
    if (local.status === session.status || local.status === 'killed') return;
    super.setStatus(session.id, session.status);
  }
}
