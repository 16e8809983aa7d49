/**
 * @module gateway/session-share
 * Each session's share of one upstream: at most `perSession` of a session's requests are in flight to
 * it at once, and one more waits in that session's queue, first come first served, until one of the
 * session's own requests ends. Every session's calls go to the same upstreams, whose capacity is
 * bounded (an HTTP upstream's connections, gateway/http-client-transport); without a share one agent
 * that starts many slow calls at once holds all of it, and every other agent's calls wait until their
 * timeout. A waiting request holds nothing of the upstream; one whose caller cancels or goes away
 * leaves the queue and is never sent (fail closed: it must not run later, with nobody waiting for it),
 * and says so (`ToolNotStarted`: its call is recorded as not run); one that waits its whole timeout
 * fails as timed out, and as not run. At most `maxWaiting` requests of a session wait at once. The key
 * of a share is the root of a session's delegation chain (`shareKey`).
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { ToolNotStarted } from '../harness/types.js';
import type { Principal } from '../spec/tool-call.js';

/** A request waiting for its turn: hand it a slot, or make it give up. */
interface Waiter {
  readonly admit: () => void;
}

/** One session's requests: how many are in flight, and the ones waiting, oldest first. */
interface SessionQueue {
  inFlight: number;
  /** A set keeps insertion order, and a request that gives up leaves it at once. */
  readonly waiting: Set<Waiter>;
}

export class SessionShare {
  /** Only sessions with a request in flight or waiting: an idle session costs nothing. */
  private readonly sessions = new Map<string, SessionQueue>();

  /** Requests of one session that may wait at once: past it, one more is refused at once (not sent). */
  readonly maxWaiting: number;

  constructor(readonly perSession: number) {
    if (!Number.isInteger(perSession) || perSession < 1)
      throw new RangeError(`a session's share of an upstream is a positive integer, got \`${perSession}\``);
    this.maxWaiting = WAITING_PER_SLOT * perSession;
  }

  /**
   * Resolves once the session may send one more request, with the function that ends its turn (call
   * it once the request is over; again is harmless). Rejects with `ToolNotStarted`, the request having
   * left the queue, never to be sent: if the signal aborts first (in the abort's own turn; the signal's
   * reason as its cause), after `timeoutMs` (`Request timed out`; the SDK's -32001 as its cause), or at
   * once when the session already has `maxWaiting` requests waiting.
   */
  take(session: string, signal: AbortSignal, timeoutMs: number): Promise<() => void> {
    if (signal.aborted) return Promise.reject(neverSent(signal));
    const queue = this.queueOf(session);
    if (queue.inFlight < this.perSession) {
      queue.inFlight++;
      return Promise.resolve(this.turnOf(session, queue));
    }
    // every waiting request holds its call's memory until its timeout: a session that sends calls
    // faster than its share lets them out would otherwise hold the gateway's memory without bound
    if (queue.waiting.size >= this.maxWaiting) return Promise.reject(queueFull(this.maxWaiting));
    return new Promise((resolve, reject) => {
      const giveUp = (error: unknown) => {
        queue.waiting.delete(waiter);
        this.forgetIfIdle(session, queue);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => giveUp(neverSent(signal));
      const timer = setTimeout(() => giveUp(waitTimedOut(timeoutMs)), timeoutMs);
      const waiter: Waiter = {
        admit: () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(this.turnOf(session, queue));
        },
      };
      queue.waiting.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sessions with a request in flight or waiting: an idle session is forgotten. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** Requests of the session in flight and waiting now. */
  load(session: string): { inFlight: number; waiting: number } {
    const queue = this.sessions.get(session);
    return { inFlight: queue?.inFlight ?? 0, waiting: queue?.waiting.size ?? 0 };
  }

  private queueOf(session: string): SessionQueue {
    let queue = this.sessions.get(session);
    if (queue === undefined) {
      queue = { inFlight: 0, waiting: new Set() };
      this.sessions.set(session, queue);
    }
    return queue;
  }

  /** Ends a turn once: the slot goes to the oldest waiting request of the session, if any. */
  private turnOf(session: string, queue: SessionQueue): () => void {
    let over = false;
    return () => {
      if (over) return;
      over = true;
      const next = queue.waiting.values().next();
      if (next.done) {
        queue.inFlight--;
        this.forgetIfIdle(session, queue);
        return;
      }
      queue.waiting.delete(next.value);
      next.value.admit(); // the slot passes on: in flight stays as it is
    };
  }

  private forgetIfIdle(session: string, queue: SessionQueue): void {
    if (queue.inFlight === 0 && queue.waiting.size === 0 && this.sessions.get(session) === queue)
      this.sessions.delete(session);
  }
}

/** A request whose caller gave up before its turn: the harness records its call as not run. */
function neverSent(signal: AbortSignal): ToolNotStarted {
  return new ToolNotStarted('it waited for its turn and was never sent to the upstream', {
    cause: signal.reason,
  });
}

/**
 * The requests of one call that may make several (the memory guard's), each made through `send`: only
 * the first can say the call did not start. Once one was tried, a later one left unsent still leaves a
 * call that may have taken effect, so its `ToolNotStarted` becomes an ordinary error.
 */
export function asOneCall<A extends unknown[], T>(
  send: (...args: A) => Promise<T>,
): (...args: A) => Promise<T> {
  let tried = false;
  return (...args) => {
    const first = !tried;
    tried = true;
    if (first) return send(...args);
    return send(...args).catch((error: unknown) => {
      throw error instanceof ToolNotStarted ? new Error(error.message, { cause: error }) : error;
    });
  };
}

/** Requests that may wait per request a session may have in flight (`SessionShare.maxWaiting`). */
const WAITING_PER_SLOT = 4;

/** A request refused because its session already has as many waiting as it may: never sent. */
function queueFull(maxWaiting: number): ToolNotStarted {
  return new ToolNotStarted(
    `this session already has ${maxWaiting} requests waiting for their turn at this upstream (the most that may wait): try again once some have ended`,
  );
}

/**
 * The share a request counts in: its Reins session's, or, for a session delegated from another, the
 * root of its delegation chain's — the session an operator issued a credential for, with its agent.
 * An agent can delegate to itself (token exchange) as often as it likes, each time with a session of
 * its own: counted apart, its delegated sessions would multiply its share.
 */
export function shareKey(principal: Principal, sessionId: string): string {
  const rootAgent = principal.delegatedBy[0] ?? principal.agentId;
  const rootSession = principal.parentSessions[0] ?? sessionId;
  return JSON.stringify([rootAgent, rootSession]);
}

/** A request whose wait for its turn used up its timeout: it timed out, and was never sent. */
export function waitTimedOut(timeoutMs: number): ToolNotStarted {
  return new ToolNotStarted(
    `Request timed out: it waited its whole timeout (${timeoutMs} ms) for its turn at the upstream and was never sent`,
    { cause: requestTimedOut(timeoutMs) },
  );
}

/** What the SDK's client rejects a request with when its timeout passes. */
function requestTimedOut(timeoutMs: number): McpError {
  return new McpError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: timeoutMs });
}
