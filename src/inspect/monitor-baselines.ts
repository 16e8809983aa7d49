/**
 * @module inspect/monitor-baselines
 * The agents' baselines for the runtime monitor, learned from the audit log (decision 0027): the
 * period is the policy's `monitor.baseline.window` ending at the start of the current hour, so every
 * process and replica on the same log learns the same baseline, and a deviation within the hour does
 * not teach the baseline to accept it. Refreshed when the hour or the policy changes; read
 * synchronously by the harness (spec/monitor `BaselineSource`).
 */
import { BaselineLearner, type BaselinePeriod } from '../policy/monitor-baseline.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { AgentBaseline, BaselineSource } from '../spec/monitor.js';
import type { AuditLog } from '../store/audit-log.js';

const HOUR_MS = 3_600_000;
const PAGE = 5_000;

/** The baseline period for a policy at `now`: its window, ending at the start of the hour. */
export function baselinePeriod(windowMs: number, now: number): BaselinePeriod {
  const to = Math.floor(now / HOUR_MS) * HOUR_MS;
  return { from: to - windowMs, to };
}

/** Reads the log over the period and learns every agent's baseline. */
export async function readBaselines(
  audit: Pick<AuditLog, 'query'>,
  policy: PreparedPolicy,
  period: BaselinePeriod,
): Promise<Map<string, AgentBaseline>> {
  const monitor = policy.monitor;
  if (monitor === undefined) return new Map();
  const learner = new BaselineLearner(monitor, period);
  const from = new Date(period.from).toISOString();
  const to = new Date(period.to).toISOString();
  for (let after = 0; ; ) {
    const page = await audit.query({ from, to, afterSeq: after, order: 'asc', limit: PAGE });
    for (const record of page) learner.add(record.event);
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    after = last.seq;
  }
  return learner.baselines();
}

export interface LoggedBaselinesOptions {
  readonly audit: Pick<AuditLog, 'query'>;
  /** The policy in force (its monitor rules name the peaks a baseline holds). */
  readonly policy: () => PreparedPolicy;
  readonly clock?: () => number;
  /** Told when a refresh fails (the previous baselines stay in use). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Baselines kept in memory and learned again when the hour or the policy changes (checked every
 * minute, and on `refresh`). Until the first refresh ends, and while the policy has no monitor, every
 * agent has none: relative bounds wait, `above` applies.
 */
export class LoggedBaselines implements BaselineSource {
  private current = new Map<string, AgentBaseline>();
  private learnedFor: { hash: string; to: number } | undefined;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly clock: () => number;

  constructor(private readonly options: LoggedBaselinesOptions) {
    this.clock = options.clock ?? Date.now;
  }

  of(agentId: string): AgentBaseline | undefined {
    return this.current.get(agentId);
  }

  /** Every agent's baseline as last learned. */
  all(): ReadonlyMap<string, AgentBaseline> {
    return this.current;
  }

  /** Learns again if the hour or the policy changed since the last time (one refresh at a time). */
  refresh(): Promise<void> {
    this.running ??= this.refreshOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Refreshes now and then every `everyMs` (default one minute); the timer does not keep the process up. */
  async start(everyMs = 60_000): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => {});
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async refreshOnce(): Promise<void> {
    const policy = this.options.policy();
    const monitor = policy.monitor;
    if (monitor === undefined) {
      this.current = new Map();
      this.learnedFor = undefined;
      return;
    }
    const period = baselinePeriod(monitor.baselineWindowMs, this.clock());
    if (this.learnedFor?.hash === policy.hash && this.learnedFor.to === period.to) return;
    try {
      this.current = await readBaselines(this.options.audit, policy, period);
      this.learnedFor = { hash: policy.hash, to: period.to };
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
