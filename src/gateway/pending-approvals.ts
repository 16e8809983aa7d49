/**
 * @module gateway/pending-approvals
 * Held calls waiting for humans, in one gateway process. The harness asks `handler()`; the call stays
 * open and, when the client asked for progress (a `progressToken`), receives MCP progress notifications
 * while it waits; `decide()` (the control plane will call it) resumes it; the harness's timeout expires
 * it (= denied). The gateway hands the harness a listener for the MCP request the call belongs to
 * (when its client asked for progress); the harness passes it here. (Not AsyncLocalStorage: on Node 20
 * it puts a hook on every promise in the process, which measurably slowed every call.)
 */
import type { ApprovalHandler, ApprovalRequest, ApprovalVerdict } from '../harness/types.js';

/** What a waiting client is told: what it waits for, and that giving up ends the call. */
const WAITING_NOTE =
  'waiting for human approval (keep this request open: if you stop waiting, the call is abandoned)';

interface Pending {
  readonly request: ApprovalRequest;
  readonly since: number;
  readonly settle: (verdict: ApprovalVerdict) => void;
}

export class PendingApprovals {
  private readonly pending = new Map<string, Pending>();

  /**
   * @param progressIntervalMs how often a waiting client hears that it is still waiting
   * @param decider where the verdict comes from besides `decide()`: the durable approval store, so that
   *   humans can vote through any process (console, API, CLI, another gateway)
   */
  constructor(
    private readonly progressIntervalMs = 5_000,
    private readonly decider?: ApprovalHandler,
  ) {}

  handler(): ApprovalHandler {
    return (request, signal, onWaiting) =>
      new Promise<ApprovalVerdict>((resolve, reject) => {
        // a listener added to an aborted signal never runs: nothing to wait for
        if (signal.aborted) return reject(signal.reason);
        const since = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const finish = () => {
          clearInterval(timer);
          this.pending.delete(request.decisionId);
        };
        this.pending.set(request.decisionId, {
          request,
          since,
          settle: (verdict) => {
            finish();
            resolve(verdict);
          },
        });
        signal.addEventListener(
          'abort',
          () => {
            finish();
            reject(signal.reason);
          },
          { once: true },
        );
        if (this.decider !== undefined) {
          this.decider(request, signal).then(
            (verdict) => this.pending.get(request.decisionId)?.settle(verdict),
            (error: unknown) => {
              if (!this.pending.has(request.decisionId)) return;
              finish();
              reject(error);
            },
          );
        }
        if (onWaiting !== undefined) {
          const reason = request.decision.reasons.join('; ');
          const tell = () => {
            try {
              onWaiting((Date.now() - since) / 1000, `${WAITING_NOTE}: ${reason}`);
            } catch {
              // progress is a courtesy to the client: failing to send it must not end the wait
            }
          };
          tell();
          timer = setInterval(tell, this.progressIntervalMs);
        }
      });
  }

  /** Calls waiting for a decision, oldest first. */
  list(): { request: ApprovalRequest; waitingMs: number }[] {
    const now = Date.now();
    return [...this.pending.values()]
      .sort((left, right) => left.since - right.since)
      .map((entry) => ({ request: entry.request, waitingMs: now - entry.since }));
  }

  /** Resumes a held call; false when it is no longer waiting (decided, expired or cancelled). */
  decide(decisionId: string, verdict: ApprovalVerdict): boolean {
    const entry = this.pending.get(decisionId);
    if (entry === undefined) return false;
    entry.settle(verdict);
    return true;
  }
}
