/**
 * @module harness/durable-approvals
 * Held calls as durable approval requests. The process holding the call writes the request (bound to
 * the call hash) to the approval store and waits; humans vote through any process sharing the store
 * (console, API, CLI, another gateway); the store's change feed wakes the waiting process, which
 * spends the approval on this one call (`consume`) and runs it. Expiry or cancellation closes the
 * request, so a late vote cannot release anything.
 */
import { describeError } from '../spec/errors.js';
import type { ApprovalRecord } from '../spec/oversight.js';
import type { ApprovalStore } from '../store/state-stores.js';
import type { ApprovalHandler, ApprovalRequest, ApprovalVerdict } from './types.js';

export interface DurableApprovalsOptions {
  /** The request expires after this long unless the holding rule asks for less. Default 15 minutes. */
  readonly defaultExpiryMs?: number;
  /** Told about every new request once it is stored (webhooks, logs). Must not throw. */
  readonly onCreated?: (record: ApprovalRecord) => void;
  /** How often the waiter re-reads its request, in case a change notification was missed. Default 2 s. */
  readonly recheckMs?: number;
  /**
   * Most calls of one agent held at once in this process (default 20): one more is refused at once
   * (the harness records it as denied) instead of queueing for the approvers without limit.
   */
  readonly maxPendingPerAgent?: number;
  readonly clock?: () => number;
}

export const DEFAULT_APPROVAL_EXPIRY_MS = 15 * 60 * 1000;
const DEFAULT_RECHECK_MS = 2_000;
export const DEFAULT_MAX_PENDING_APPROVALS_PER_AGENT = 20;

export function durableApprovals(
  store: ApprovalStore,
  options: DurableApprovalsOptions = {},
): ApprovalHandler {
  const clock = options.clock ?? Date.now;
  const defaultExpiryMs = options.defaultExpiryMs ?? DEFAULT_APPROVAL_EXPIRY_MS;
  const recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
  const maxPending = options.maxPendingPerAgent ?? DEFAULT_MAX_PENDING_APPROVALS_PER_AGENT;
  if (!Number.isInteger(maxPending) || maxPending < 1)
    throw new RangeError(`maxPendingPerAgent must be a positive integer, got \`${maxPending}\``);
  const held = new HeldCounts();
  return async (request, signal) => {
    const agentId = request.call.principal.agentId;
    // fail closed: over the cap the call is refused, never queued (the harness records the refusal)
    if (held.of(agentId) >= maxPending) {
      throw new Error(
        `agent \`${agentId}\` already has ${maxPending} calls waiting for approval (limit \`limits.maxPendingApprovalsPerAgent\`)`,
      );
    }
    const record = requestRecord(request, clock(), defaultExpiryMs);
    const release = held.add(agentId);
    return new Promise<ApprovalVerdict>((resolve, reject) => {
      let settled = false;
      const finish = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        release();
        unsubscribe();
        clearInterval(recheck);
        signal.removeEventListener('abort', onAbort);
        outcome();
      };
      const onRecord = (current: ApprovalRecord) => {
        if (settled || current.id !== record.id) return;
        if (current.status === 'approved') {
          // spend it before running: the same approval can never release a second call
          settled = true;
          release();
          unsubscribe();
          clearInterval(recheck);
          store
            .consume(record.id, record.callHash, new Date(clock()))
            .then((spent) => {
              signal.removeEventListener('abort', onAbort);
              resolve(
                spent
                  ? verdictOf(current, true)
                  : {
                      approved: false,
                      reason: 'the approval was already used or no longer matches this call',
                    },
              );
            })
            .catch((error: unknown) => {
              signal.removeEventListener('abort', onAbort);
              reject(new Error(`cannot use the approval: ${describeError(error)}`));
            });
        } else if (current.status === 'denied') {
          finish(() => resolve(verdictOf(current, false)));
        } else if (
          current.status === 'expired' ||
          current.status === 'cancelled' ||
          current.status === 'used'
        ) {
          finish(() => resolve({ approved: false, reason: `the approval request was ${current.status}` }));
        }
      };
      const onAbort = () => {
        finish(() => reject(signal.reason));
        // nobody may release this call any more; best effort, the record also carries its expiry
        const status = /expired/.test(describeError(signal.reason)) ? 'expired' : 'cancelled';
        store.close(record.id, status, new Date(clock())).catch(() => {});
      };
      const unsubscribe = store.onChange(onRecord);
      const recheck = setInterval(() => {
        store
          .get(record.id)
          .then((current) => current && onRecord(current))
          .catch(() => {});
      }, recheckMs);
      recheck.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) {
        onAbort();
        return;
      }
      store.create(record).then(
        () => {
          try {
            options.onCreated?.(record);
          } catch {
            // a notifier must not affect the held call
          }
        },
        (error: unknown) =>
          finish(() => reject(new Error(`cannot store the approval request: ${describeError(error)}`))),
      );
    });
  };
}

/** Calls held per agent in this process; an agent with none has no entry (the map stays small). */
class HeldCounts {
  private readonly counts = new Map<string, number>();

  of(agentId: string): number {
    return this.counts.get(agentId) ?? 0;
  }

  /** Counts one more held call; the function returned releases it (once). */
  add(agentId: string): () => void {
    this.counts.set(agentId, this.of(agentId) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.of(agentId) - 1;
      if (left > 0) this.counts.set(agentId, left);
      else this.counts.delete(agentId);
    };
  }
}

/** The durable request for a held call: bound to its hash, showing approvers exactly what would run. */
export function requestRecord(
  request: ApprovalRequest,
  now: number,
  defaultExpiryMs: number,
): ApprovalRecord {
  const obligation = request.decision.obligations.find((item) => item.kind === 'approval');
  const requirements =
    obligation?.kind === 'approval' && obligation.requirements.length > 0
      ? obligation.requirements
      : [{ ruleId: 'default', approvers: ['approver', 'admin'], quorum: 1, ownerMayApprove: false }];
  const ruleExpiry = obligation?.kind === 'approval' ? obligation.expiresInMs : undefined;
  const expiresInMs = ruleExpiry === undefined ? defaultExpiryMs : Math.min(ruleExpiry, defaultExpiryMs);
  const { call } = request;
  const at = new Date(now).toISOString();
  const record: ApprovalRecord = {
    id: request.decisionId,
    callHash: request.callHash,
    agentId: call.principal.agentId,
    delegatedBy: call.principal.delegatedBy,
    sessionId: call.sessionId,
    tool: call.tool,
    args: call.args,
    reasons: request.decision.reasons,
    requirements,
    status: 'pending',
    votes: [],
    createdAt: at,
    expiresAt: new Date(now + expiresInMs).toISOString(),
    updatedAt: at,
  };
  if (call.principal.owner !== undefined) record.owner = call.principal.owner;
  return record;
}

/** The verdict of a decided request: who decided it this way, and why. */
export function verdictOf(record: ApprovalRecord, approved: boolean): ApprovalVerdict {
  const deciding = record.votes.filter((vote) => vote.approved === approved);
  return {
    approved,
    by: deciding.map((vote) => vote.actor.id).join(', '),
    reason: deciding.map((vote) => vote.reason).join('; '),
  };
}
