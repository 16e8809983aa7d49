/**
 * @module telemetry/ops-status
 * The `OpsStatus` (spec/ops) of one process: readiness from the policy in force, a real probe of the
 * audit store's write path (bounded by a short timeout, so a locked store reads as not ready instead
 * of hanging the probe) and the connection of every upstream; upstream health as the upstreams say;
 * the metrics of `ReinsMetrics`. The composition root (cli/gateway-process) builds one and hands it to
 * both listeners.
 */
import { describeError } from '../spec/errors.js';
import type { MetricsText, OpsStatus, Readiness, ReadinessCheck, UpstreamHealth } from '../spec/ops.js';
import type { ReinsMetrics } from './metrics.js';
import { sharedRead } from './shared-read.js';

export interface OpsSources {
  readonly metrics: ReinsMetrics;
  /** Whether a policy is loaded and in force, and which (its hash). */
  readonly policy: () => { loaded: boolean; detail?: string };
  /** Resolves if the audit store can take a write now (its write lock or transaction), rejects otherwise. */
  readonly storeWritable: () => Promise<void>;
  readonly upstreams: () => readonly UpstreamHealth[];
  /** How long the store probe may take before it counts as failed. Default 2,000 ms. */
  readonly storeTimeoutMs?: number;
}

const DEFAULT_STORE_TIMEOUT_MS = 2_000;

/**
 * A store probe's answer is reused this long, and concurrent readiness requests share one probe: the
 * endpoint is unauthenticated, and a flood of it must not become a flood of write-lock probes (the
 * SQLite one waits on the event loop's thread).
 */
const STORE_CHECK_REUSE_MS = 1_000;

export function createOpsStatus(sources: OpsSources): OpsStatus {
  const timeoutMs = sources.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
  const sharedStoreCheck = sharedRead(() => storeCheck(sources, timeoutMs), {
    reuseMs: STORE_CHECK_REUSE_MS,
  });
  return {
    async readiness(): Promise<Readiness> {
      const checks: ReadinessCheck[] = [policyCheck(sources), await sharedStoreCheck()];
      for (const upstream of sources.upstreams()) checks.push(upstreamCheck(upstream));
      return { ready: checks.every((check) => check.ok), checks };
    },
    upstreams: () => sources.upstreams(),
    metrics: (): Promise<MetricsText> => sources.metrics.text(),
  };
}

function policyCheck(sources: OpsSources): ReadinessCheck {
  try {
    const { loaded, detail } = sources.policy();
    return { name: 'policy', ok: loaded, ...(detail !== undefined ? { detail } : {}) };
  } catch (error) {
    return { name: 'policy', ok: false, detail: describeError(error) };
  }
}

async function storeCheck(sources: OpsSources, timeoutMs: number): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error(`no write lock within ${timeoutMs} ms`), { code: 'timeout' })),
      timeoutMs,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(sources.storeWritable), timeout]);
    return { name: 'store', ok: true, detail: 'writable' };
  } catch (error) {
    // not the driver's text: on PostgreSQL it can name hosts and users, and the endpoint is public
    return { name: 'store', ok: false, detail: `not writable (${codeOf(error)})` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Not its last error: that may quote the upstream's stderr, and `/readyz` is unauthenticated (the
 * dashboard shows it through the authenticated API, and the log has it).
 */
function upstreamCheck(upstream: UpstreamHealth): ReadinessCheck {
  const name = `upstream:${upstream.name}`;
  if (upstream.connected) return { name, ok: true, detail: 'connected' };
  const since = upstream.since ? ` since ${upstream.since}` : '';
  return { name, ok: false, detail: `not connected${since} (restarting with backoff)` };
}

/** A short, fixed-vocabulary reason: the error's code if it has one (ReinsError, SQLite, pg), else its kind. */
function codeOf(error: unknown): string {
  const { code, details } = (error ?? {}) as { code?: unknown; details?: { cause?: unknown } };
  const cause = details?.cause;
  if (typeof cause === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(cause)) return cause;
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,40}$/.test(code) ? code : 'error';
}
