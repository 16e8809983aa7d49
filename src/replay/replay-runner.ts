/**
 * @module replay/replay-runner
 * Runs recorded traces through the production pipeline: one Harness per policy, each trace in its own
 * session, every call decided, recorded (in the audit log the caller opens: in memory, or the file of
 * `reins replay --db`) and "executed" by handing back the result the trace recorded. Held calls are
 * approved by the replay (the trace shows what happened next); the decision written is the one the
 * policy took before any approval.
 *
 * A refused call's recorded output is still shown to the session's data flow, because the trace says
 * the agent saw it and later calls were made with that knowledge.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Harness } from '../harness/harness.js';
import { loadPolicy } from '../loader/policy-files.js';
import { formatProblem } from '../policy/policy-problem.js';
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import { describeError } from '../spec/errors.js';
import type { MonitorListener } from '../spec/monitor.js';
import type { AuditLog } from '../store/audit-log.js';
import { isProblem, type ReplayTrace, type TraceImporter } from './trace.js';

export type ReplayEffect = 'allow' | 'deny' | 'approve';

/** One line of the decisions file. */
export interface ReplayDecision {
  readonly trace: string;
  readonly index: number;
  readonly decision: ReplayEffect;
  /** With `explain`: the tool, and why a flagged call was flagged. */
  tool?: string;
  reasons?: readonly string[];
}

export interface ReplaySummary {
  traces: number;
  calls: number;
  problems: number;
  decisions: Record<ReplayEffect, number>;
  byEnvironment: Record<string, { traces: number; calls: number; flagged: number }>;
  /** Rule id -> how many calls it matched with a restrictive effect. */
  rules: Record<string, number>;
  /** What the runtime monitor (`monitor:` of the policy) found: findings by rule, sessions with any, sessions it stopped. */
  monitor: { findings: number; rules: Record<string, number>; sessions: number; stopped: number };
  seconds: number;
}

export interface ReplayOptions {
  readonly importer: TraceImporter;
  readonly source: string;
  /** A policy file, a policy directory, or a directory with one file (or directory) per environment. */
  readonly policy: string;
  /** Opens the audit log a harness records into (once per policy; may hand back the same log). */
  readonly openAudit: () => AuditLog;
  /** Called for every decision, in trace order. */
  readonly onDecision: (decision: ReplayDecision) => void;
  /** Problems (unreadable traces, a policy that does not load) as they happen. */
  readonly onProblem: (message: string) => void;
  /** Add the tool and the reasons of flagged calls to each line. */
  readonly explain?: boolean;
  /** Traces replayed at once (they are independent sessions). Default 8. */
  readonly concurrency?: number;
  /** Told about each call the monitor raised findings on, once its intent is recorded (a pause through oversight). */
  readonly onMonitorFindings?: MonitorListener;
}

/** Picks and caches the policy (and its harness) for each environment. */
class PolicySelector {
  private readonly harnesses = new Map<string, Harness | string>();
  /** Each log once, however many policies record into it. */
  readonly audits = new Set<AuditLog>();

  constructor(
    private readonly path: string,
    private readonly openAudit: () => AuditLog,
    private readonly onMonitorFindings: MonitorListener,
  ) {}

  /** The harness for an environment, or a message saying why there is none. */
  harnessFor(environment: string | undefined): Harness | string {
    const key = environment ?? '';
    const cached = this.harnesses.get(key);
    if (cached !== undefined) return cached;
    const made = this.make(environment);
    this.harnesses.set(key, made);
    return made;
  }

  private make(environment: string | undefined): Harness | string {
    const path = this.policyPath(environment);
    const loaded = loadPolicy(path);
    if (!loaded.ok)
      return `policy \`${path}\` does not load: ${loaded.problems.map(formatProblem).join('; ')}`;
    const policy: PreparedPolicy = loaded.policy;
    const audit = this.openAudit();
    this.audits.add(audit);
    return new Harness({
      policy: { current: policy },
      audit,
      // the trace shows the call went ahead; the decision recorded is still `approve`
      approvals: async () => ({ approved: true, by: 'reins replay' }),
      onMonitorFindings: this.onMonitorFindings,
    });
  }

  /** `<dir>/<environment>.yaml` or `<dir>/<environment>/` when present, else the path itself. */
  private policyPath(environment: string | undefined): string {
    if (environment === undefined || !/^[\w.-]+$/.test(environment)) return this.path;
    if (!existsSync(this.path) || !statSync(this.path).isDirectory()) return this.path;
    for (const candidate of [`${environment}.yaml`, `${environment}.yml`, environment]) {
      const full = join(this.path, candidate);
      if (existsSync(full)) return full;
    }
    return this.path;
  }
}

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const summary: ReplaySummary = {
    traces: 0,
    calls: 0,
    problems: 0,
    decisions: { allow: 0, deny: 0, approve: 0 },
    byEnvironment: {},
    rules: {},
    monitor: { findings: 0, rules: {}, sessions: 0, stopped: 0 },
    seconds: 0,
  };
  const selector = new PolicySelector(
    options.policy,
    options.openAudit,
    monitorTally(summary, options.onMonitorFindings),
  );
  const concurrency = options.concurrency ?? 8;
  const running = new Set<Promise<void>>();
  // decisions are emitted in trace order even though traces run concurrently
  const order: { done: boolean; lines: ReplayDecision[] }[] = [];
  let flushed = 0;
  const flush = () => {
    while (flushed < order.length && order[flushed]?.done) {
      for (const line of order[flushed]?.lines ?? []) options.onDecision(line);
      order[flushed] = { done: true, lines: [] };
      flushed++;
    }
  };
  try {
    for await (const item of options.importer.read(options.source)) {
      if (isProblem(item)) {
        summary.problems++;
        options.onProblem(`${item.id}: ${item.message}`);
        continue;
      }
      const slot = { done: false, lines: [] as ReplayDecision[] };
      order.push(slot);
      const task = replayTrace(item, selector, summary, slot.lines, options).then(() => {
        slot.done = true;
        flush();
      });
      running.add(task);
      void task.finally(() => running.delete(task));
      if (running.size >= concurrency) await Promise.race(running);
    }
    await Promise.all(running);
    flush();
  } finally {
    for (const audit of selector.audits) await audit.close().catch(() => undefined);
  }
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}

async function replayTrace(
  trace: ReplayTrace,
  selector: PolicySelector,
  summary: ReplaySummary,
  lines: ReplayDecision[],
  options: Pick<ReplayOptions, 'onProblem' | 'explain'>,
): Promise<void> {
  const { onProblem } = options;
  summary.traces++;
  const environmentKey = trace.environment ?? '(none)';
  summary.byEnvironment[environmentKey] ??= { traces: 0, calls: 0, flagged: 0 };
  const environment = summary.byEnvironment[environmentKey];
  environment.traces++;
  const harness = selector.harnessFor(trace.environment);
  if (typeof harness === 'string') onProblem(`${trace.id}: ${harness}`);
  const sessionId = `replay:${trace.id}`;
  let index = 0;
  for (const step of trace.steps) {
    if (step.kind === 'user-input') {
      if (typeof harness !== 'string') await harness.declareUserInput(sessionId, step.text);
      continue;
    }
    let effect: ReplayEffect = 'deny'; // fail closed: no policy, no decision = deny
    let reasons: readonly string[] = ['no policy for this trace'];
    if (typeof harness !== 'string') {
      try {
        const result = await harness.call(
          { principal: { agentId: trace.agentId }, sessionId, tool: step.tool, args: step.args },
          async () => {
            if (!step.result.ok) throw new Error(step.result.error);
            return step.result.output;
          },
        );
        effect = result.decision.effect;
        reasons = result.decision.reasons;
        if (effect !== 'allow') {
          for (const rule of result.decision.matchedRules)
            summary.rules[rule] = (summary.rules[rule] ?? 0) + 1;
          if (result.status === 'denied' && step.result.ok)
            await harness.recordObservedOutput(
              sessionId,
              result.decisionId,
              step.tool,
              step.args,
              step.result.output,
            );
        }
      } catch (error) {
        onProblem(`${trace.id}#${index}: ${describeError(error)}`);
      }
    }
    summary.decisions[effect]++;
    summary.calls++;
    environment.calls++;
    if (effect !== 'allow') environment.flagged++;
    const line: ReplayDecision = { trace: trace.id, index, decision: effect };
    if (options.explain) {
      line.tool = step.tool.name;
      if (effect !== 'allow') line.reasons = reasons;
    }
    lines.push(line);
    index++;
  }
}

/** Counts the monitor's findings into the summary, then hands them on. */
function monitorTally(summary: ReplaySummary, next: MonitorListener | undefined): MonitorListener {
  const sessions = new Set<string>();
  const stopped = new Set<string>();
  return async (event) => {
    const { monitor } = summary;
    for (const finding of event.findings) {
      monitor.findings++;
      monitor.rules[finding.rule] = (monitor.rules[finding.rule] ?? 0) + 1;
      if (finding.action !== 'alert') stopped.add(event.sessionId);
    }
    sessions.add(event.sessionId);
    monitor.sessions = sessions.size;
    monitor.stopped = stopped.size;
    await next?.(event);
  };
}
