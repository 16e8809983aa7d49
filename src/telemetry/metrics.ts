/**
 * @module telemetry/metrics
 * The Prometheus metrics of one process, in a registry of its own (never prom-client's global one: an
 * embedding application's metrics stay apart, and two gateways in one test process do not collide).
 * Every name starts `reins_`. Label values are only what the deployment itself names — effects, rule
 * ids, upstream names, refusal codes, outcomes — never a call's arguments, an agent's id or a
 * credential: `/metrics` is served without authentication (docs/deployment.md).
 *
 * Counters and histograms are fed as things happen (`observeCall`, `observeAuditCommit`,
 * `credentialRejected`); the gauges whose truth lives elsewhere (the audit queue, pending approvals in
 * the store, upstream connections) are read from their sources when scraped. The one that reads the
 * store is read at most once a second, however many scrape (`sharedRead`).
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { UpstreamHealth } from '../spec/ops.js';
import type { Effect } from '../spec/policy-document.js';
import { sharedRead } from './shared-read.js';
import { ReadGauge, TalliedCounter, TalliedHistogram } from './tallies.js';

/** What the harness tells about a call (structurally harness/call-observer's `CallObservation`). */
export interface ObservedCall {
  readonly effect: Effect;
  readonly decidedBy: readonly string[];
  readonly outcome: string;
  readonly decisionSeconds?: number;
  readonly durationSeconds: number;
}

/** One audit transaction (structurally store/audit-log's `AuditCommit`). */
export interface ObservedCommit {
  readonly items: number;
  readonly seconds: number;
  readonly ok: boolean;
}

/** Where the scraped gauges are read from; each is optional (a part the process does not run). */
export interface MetricSources {
  /** Audit appends handed in and not yet committed. */
  readonly auditQueueDepth?: () => number;
  /**
   * Approval requests waiting for humans, in the store (shared by every process on it). Read at most
   * once per `STORE_GAUGE_REUSE_MS`, concurrent scrapes sharing one read.
   */
  readonly pendingApprovals?: () => Promise<number>;
  readonly upstreams?: () => readonly UpstreamHealth[];
}

export interface ReinsMetricsOptions {
  /** Node's process metrics too (`reins_process_*`, `reins_nodejs_*`). Default true. */
  readonly defaultMetrics?: boolean;
  /**
   * Distinct `rule` label values kept; further rules are counted as `other`. Rule ids come from the
   * policy (and `reins.<code>` for built-in refusals), so this only guards against a policy of
   * thousands of rules growing the series without bound. Default 500.
   */
  readonly maxRuleLabels?: number;
  /** Distinct `reason` values, and distinct `outcome` values, kept likewise. Default 50 each. */
  readonly maxCodeLabels?: number;
}

const DECISION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
/** A call may wait for humans for minutes: the top buckets reach past the default approval timeout. */
const CALL_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];
const COMMIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];
const OTHER = 'other';
/**
 * A store-backed gauge's reading is reused this long (and concurrent scrapes share one read):
 * `/metrics` is unauthenticated, and a flood of scrapes must not become a flood of store queries.
 */
export const STORE_GAUGE_REUSE_MS = 1_000;

export class ReinsMetrics {
  readonly registry = new Registry();
  private sources: MetricSources = {};
  private readonly rules: LabelBound;
  private readonly outcomes: LabelBound;
  private readonly reasons: LabelBound;
  // the metrics moved on the path of every call and commit are tallies (telemetry/tallies)
  private readonly decisions: TalliedCounter;
  private readonly calls: TalliedCounter;
  private readonly decisionSeconds: TalliedHistogram;
  private readonly callSeconds: TalliedHistogram;
  private readonly commitSeconds: TalliedHistogram;
  private readonly rejections: Counter<'reason'>;
  private readonly restarts: Counter<'upstream'>;
  private readonly monitorFindings: Counter<'rule' | 'action'>;
  /** Restarts already counted per upstream: the counter moves by what `upstreams()` adds. */
  private readonly restartsSeen = new Map<string, number>();

  constructor(options: ReinsMetricsOptions = {}) {
    const registers = [this.registry];
    this.rules = new LabelBound(options.maxRuleLabels ?? 500);
    this.outcomes = new LabelBound(options.maxCodeLabels ?? 50);
    this.reasons = new LabelBound(options.maxCodeLabels ?? 50);
    this.decisions = new TalliedCounter(
      'reins_decisions_total',
      'Decisions by effect and by each rule that decided them (decidedBy; reins.* for built-in refusals).',
      ['effect', 'rule'],
      this.registry,
    );
    this.calls = new TalliedCounter(
      'reins_calls_total',
      'Calls that ended, by effect and outcome.',
      ['effect', 'outcome'],
      this.registry,
    );
    this.decisionSeconds = new TalliedHistogram(
      'reins_decision_duration_seconds',
      'Time to decide a call (read state, evaluate the policy, reserve limits).',
      ['effect'],
      DECISION_BUCKETS,
      this.registry,
    );
    this.callSeconds = new TalliedHistogram(
      'reins_call_duration_seconds',
      'Time from deciding a call to its recorded outcome (incl. the tool and any approval wait).',
      ['effect'],
      CALL_BUCKETS,
      this.registry,
    );
    this.commitSeconds = new TalliedHistogram(
      'reins_audit_commit_duration_seconds',
      'Time to commit one batch of audit records durably, by result (ok or failed).',
      ['result'],
      COMMIT_BUCKETS,
      this.registry,
    );
    this.rejections = new Counter({
      name: 'reins_credential_rejections_total',
      help: 'Credentials refused, by reason (the refusal code).',
      labelNames: ['reason'],
      registers,
    });
    this.restarts = new Counter({
      name: 'reins_upstream_restarts_total',
      help: 'Reconnections of each upstream MCP server since the process started.',
      labelNames: ['upstream'],
      registers,
      collect: () => this.countRestarts(),
    });
    this.monitorFindings = new Counter({
      name: 'reins_monitor_findings_total',
      help: 'Findings of the runtime monitor, by monitor rule and action (alert, hold, pause, suspend).',
      labelNames: ['rule', 'action'],
      registers,
    });
    this.defineGauges(registers);
    if (options.defaultMetrics !== false)
      collectDefaultMetrics({ register: this.registry, prefix: 'reins_' });
  }

  /** Where the scraped gauges read from (set once the parts have started). */
  setSources(sources: MetricSources): void {
    const { pendingApprovals } = sources;
    this.sources = {
      ...this.sources,
      ...sources,
      ...(pendingApprovals
        ? { pendingApprovals: sharedRead(pendingApprovals, { reuseMs: STORE_GAUGE_REUSE_MS }) }
        : {}),
    };
  }

  observeCall(call: ObservedCall): void {
    const { effect } = call;
    const { decidedBy } = call;
    decidedBy.forEach((rule, index) => {
      // a rule named twice counts once
      if (decidedBy.indexOf(rule) === index) this.decisions.inc(effect, this.rules.of(rule));
    });
    if (decidedBy.length === 0) this.decisions.inc(effect, 'none');
    this.calls.inc(effect, this.outcomes.of(call.outcome));
    if (call.decisionSeconds !== undefined) this.decisionSeconds.observe(call.decisionSeconds, effect);
    this.callSeconds.observe(call.durationSeconds, effect);
  }

  observeAuditCommit(commit: ObservedCommit): void {
    this.commitSeconds.observe(commit.seconds, commit.ok ? 'ok' : 'failed');
  }

  /** A finding of the runtime monitor (policy/monitor), counted once it is on record. */
  monitorFinding(rule: string, action: string): void {
    this.monitorFindings.inc({ rule: this.rules.of(rule), action });
  }

  credentialRejected(reason: string): void {
    this.rejections.inc({ reason: this.reasons.of(reason) });
  }

  /** The exposition text of every metric, the scraped gauges read now. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private defineGauges(registers: Registry[]): void {
    const sources = () => this.sources;
    new Gauge({
      name: 'reins_audit_queue_depth',
      help: 'Audit records handed to the log and not yet committed.',
      registers,
      collect() {
        const depth = sources().auditQueueDepth;
        if (depth !== undefined) this.set(depth());
      },
    });
    // a store that cannot be read shows no value rather than a stale one or 0 (readiness says why)
    new ReadGauge(
      'reins_approvals_pending',
      'Approval requests waiting for humans in the store (every process on it).',
      async () => sources().pendingApprovals?.(),
      this.registry,
    );
    new Gauge({
      name: 'reins_upstream_up',
      help: 'Whether each upstream MCP server is connected (1) or not (0).',
      labelNames: ['upstream'],
      registers,
      collect() {
        for (const upstream of sources().upstreams?.() ?? [])
          this.set({ upstream: upstream.name }, upstream.connected ? 1 : 0);
      },
    });
  }

  private countRestarts(): void {
    for (const upstream of this.sources.upstreams?.() ?? []) {
      const seen = this.restartsSeen.get(upstream.name) ?? 0;
      // zero too, so the series exists before the first restart (rate() needs a start)
      this.restarts.inc({ upstream: upstream.name }, Math.max(0, upstream.restarts - seen));
      this.restartsSeen.set(upstream.name, Math.max(seen, upstream.restarts));
    }
  }
}

/** Keeps the first `max` distinct values of a label; any later one is `other`. */
class LabelBound {
  private readonly seen = new Set<string>();
  constructor(private readonly max: number) {}

  of(value: string): string {
    if (this.seen.has(value)) return value;
    if (this.seen.size >= this.max) return OTHER;
    this.seen.add(value);
    return value;
  }
}
