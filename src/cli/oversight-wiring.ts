/**
 * @module cli/oversight-wiring
 * What a serving process (`reins gateway`, `reins mcp`, `reins serve`) needs for human oversight, on
 * the configured store: held calls become durable approval requests (with progress notifications to
 * the waiting client and an optional webhook), sessions follow pause/kill from any process, and
 * operator overrides are honoured once.
 */
import { PendingApprovals } from '../gateway/pending-approvals.js';
import { durableApprovals } from '../harness/durable-approvals.js';
import type { HeldCallOptions, OverrideSource } from '../harness/harness.js';
import { SharedSessionRegistry } from '../harness/shared-session-registry.js';
import type { ApprovalHandler } from '../harness/types.js';
import { describeError } from '../spec/errors.js';
import type { ApprovalRecord } from '../spec/oversight.js';
import { type OversightStores, openOversightStores, type StoreOptions } from './audit-store.js';

export interface OversightWiring {
  readonly stores: OversightStores;
  readonly approvals: ApprovalHandler;
  readonly sessions: SharedSessionRegistry;
  readonly overrides: OverrideSource;
  /** Held calls whose tool the caller runs (the remote protocol): the same store, expiry, cap and notifier. */
  readonly heldCalls: HeldCallOptions;
  close(): Promise<void>;
}

export async function wireOversight(
  storeOptions: StoreOptions,
  options: {
    approvalTimeoutMs: number;
    /** Default 20 (harness/durable-approvals). */
    maxPendingPerAgent?: number;
    webhook?: string;
    log: (line: string) => void;
  },
): Promise<OversightWiring> {
  const stores = await openOversightStores(storeOptions);
  try {
    const sessions = await SharedSessionRegistry.start(stores.sessions, options.log);
    const notify = options.webhook ? webhookNotifier(options.webhook, options.log) : undefined;
    const durable = durableApprovals(stores.approvals, {
      defaultExpiryMs: options.approvalTimeoutMs,
      ...(options.maxPendingPerAgent !== undefined ? { maxPendingPerAgent: options.maxPendingPerAgent } : {}),
      ...(notify ? { onCreated: notify } : {}),
    });
    const approvals = new PendingApprovals(5_000, durable).handler();
    const overrides: OverrideSource = async (callHash, now) =>
      stores.approvals.consumeOverride(callHash, now);
    const heldCalls: HeldCallOptions = {
      store: stores.approvals,
      defaultExpiryMs: options.approvalTimeoutMs,
      ...(options.maxPendingPerAgent !== undefined ? { maxPendingPerAgent: options.maxPendingPerAgent } : {}),
      ...(notify ? { onCreated: notify } : {}),
    };
    return {
      stores,
      approvals,
      sessions,
      overrides,
      heldCalls,
      close: async () => {
        sessions.stop();
        await stores.close();
      },
    };
  } catch (error) {
    await stores.close();
    throw error;
  }
}

/**
 * Posts each new approval request to `url` as JSON (what, why, who may approve; never a credential).
 * Delivery is best effort and never delays or decides the held call; failures are logged.
 */
export function webhookNotifier(url: string, log: (line: string) => void): (record: ApprovalRecord) => void {
  return (record) => {
    const body = JSON.stringify({
      type: 'approval.requested',
      approval: {
        id: record.id,
        agentId: record.agentId,
        sessionId: record.sessionId,
        tool: `${record.tool.server}/${record.tool.name}`,
        reasons: record.reasons,
        requirements: record.requirements,
        expiresAt: record.expiresAt,
      },
    });
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(5_000),
    })
      .then((response) => {
        if (!response.ok) log(`approval webhook answered ${response.status}`);
      })
      .catch((error: unknown) => log(`approval webhook failed: ${describeError(error)}`));
  };
}
