/**
 * @module policy/monitor
 * The compiled `monitor:` section (issue 19, decision 0027): each rule's signal computed over the
 * session's activity (from its audit records, policy/monitor-activity) and compared with the agent's
 * baseline (learned from the log, policy/monitor-baseline, with this same code). Pure and synchronous;
 * a decision calls `judge` after the rules, so every entry point (live calls, dry runs, policy diff,
 * replay) sees the same findings.
 *
 * A finding is explained: its rule, what was observed, the bound it crossed and the baseline that bound
 * came from, and the calls it counted. A rule whose action stops the session (`hold`, `pause`,
 * `suspend`) stops it from this call on: the call is held or denied here, and the session's later
 * calls are, in every process, because the finding is in the log (policy/monitor-activity `stop`).
 */
import type { Decision, Obligation, ToolFacts } from '../spec/decision.js';
import {
  type AgentBaseline,
  MAX_FINDING_RECORDS,
  type MonitorAction,
  type MonitorFinding,
  type MonitorRuleDocument,
  type MonitorSection,
  type MonitorSignal,
} from '../spec/monitor.js';
import type { ToolCall, ToolRef } from '../spec/tool-call.js';
import { toolKeyOf } from '../spec/tool-key.js';
import { type CompiledToolMatch, compileToolMatch, toolMatches } from './compiled-rule.js';
import { compileGlobList, type NameMatcher } from './glob.js';
import type { ActivityEntry, MonitorStop } from './monitor-activity.js';

/** What a decision tells the monitor about the session (from its projection) and the agent. */
export interface MonitorInput {
  /** The session's calls so far, oldest first. */
  readonly activity: readonly ActivityEntry[];
  /** The agent's baseline; none while it has no recorded calls in the baseline period. */
  readonly baseline?: AgentBaseline | undefined;
  /** An earlier finding that stopped the session, until an operator resumes it. */
  readonly stop?: MonitorStop | undefined;
  /**
   * When an operator last resumed the session (epoch ms): windows count only calls after it, so a
   * resumed session is judged afresh rather than raised again by the burst that stopped it, and not
   * left unwatched while that burst is still in the window.
   */
  readonly resumedAt?: number | undefined;
  /**
   * One-call findings the session raised already, as `rule NUL tool` or `rule NUL from -> to`
   * (policy/monitor-activity keeps it); without it they are looked for in `activity`.
   */
  readonly raisedOnce?: ReadonlySet<string> | undefined;
}

export interface CompiledMonitorRule {
  readonly id: string;
  readonly reason: string;
  readonly signal: MonitorSignal;
  readonly action: MonitorAction;
  readonly agents: NameMatcher | undefined;
  readonly tool: CompiledToolMatch | undefined;
  readonly windowMs: number | undefined;
  readonly above: number | undefined;
  readonly factor: number | undefined;
  readonly below: number | undefined;
}

/** How the monitor learns the tool facts a rule's `tool:` may name (the policy's catalogue). */
export type FactsOf = (tool: ToolRef) => ToolFacts | undefined;

const DEFAULT_TRANSITION_BELOW = 1;
const DEFAULT_OFF_HOURS_BELOW = 0.01;
/** Tools whose rule matches are remembered (per compiled monitor), before the memo starts again. */
const MATCH_MEMO_SIZE = 10_000;

export class CompiledMonitor {
  readonly rules: readonly CompiledMonitorRule[];
  readonly baselineWindowMs: number;
  readonly minCalls: number;
  /** Per tool key (`server/name`): which rules its calls count for. */
  private readonly matchMemo = new Map<string, Map<string, readonly boolean[]>>();
  private memoSize = 0;

  constructor(
    section: MonitorSection,
    private readonly factsOf: FactsOf,
  ) {
    this.rules = section.rules.map(compileMonitorRule);
    this.baselineWindowMs = section.baseline.window;
    this.minCalls = section.baseline.minCalls;
  }

  /** Does any rule watch this agent (then deciding its calls reads the session)? */
  watches(agentId: string): boolean {
    return this.rules.some((rule) => rule.agents === undefined || rule.agents.matches(agentId));
  }

  /** Which rules count calls of this tool. */
  matchesOf(tool: ToolRef): readonly boolean[] {
    // by server, then name, never by `server/name` (either may hold a `/`, and two tools must never
    // share an entry); and without building a key: windows look this up for every call they count
    let byName = this.matchMemo.get(tool.server);
    let matches = byName?.get(tool.name);
    if (matches !== undefined) return matches;
    const facts = this.factsOf(tool);
    matches = this.rules.map((rule) => ruleCountsTool(rule, tool, facts));
    if (this.memoSize >= MATCH_MEMO_SIZE) {
      this.matchMemo.clear();
      this.memoSize = 0;
      byName = undefined;
    }
    if (byName === undefined) {
      byName = new Map();
      this.matchMemo.set(tool.server, byName);
    }
    byName.set(tool.name, matches);
    this.memoSize++;
    return matches;
  }

  /** Which rules count this earlier call, kept on the entry for this monitor. */
  private countedBy(entry: ActivityEntry): readonly boolean[] {
    const counted = entry.counted;
    if (counted !== undefined && counted.by === this) return counted.matches;
    const matches = this.matchesOf(entry.tool);
    entry.counted = { by: this, matches };
    return matches;
  }

  /** Is the baseline long enough for relative bounds and the one-call signals? */
  mature(baseline: AgentBaseline | undefined): baseline is AgentBaseline {
    return baseline !== undefined && baseline.calls >= this.minCalls;
  }

  /**
   * The findings this call raises, and the decision as they (or an earlier stop of the session) make
   * it: a hold turns an allow into approve; a pause or suspend denies. Never throws (a rule that cannot
   * be judged raises nothing; the decision stands as the rules made it).
   */
  judge(decision: Decision, call: ToolCall, input: MonitorInput, now: number): Decision {
    const findings: MonitorFinding[] = [];
    const { agentId } = call.principal;
    const key = toolKeyOf(call.tool);
    const matches = this.matchesOf(call.tool);
    const denied = decision.effect === 'deny';
    // read once: the caller may compute them as they are now (calls decided meanwhile included)
    const seen: MonitorInput = {
      activity: input.activity,
      baseline: input.baseline,
      stop: input.stop,
      resumedAt: input.resumedAt,
      raisedOnce: input.raisedOnce,
    };
    // a stopped session raises nothing new: its refusals are the stop's, not a spike of their own
    if (seen.stop !== undefined) return escalate(decision, [], seen.stop);
    for (const [index, rule] of this.rules.entries()) {
      if (!matches[index] || (rule.agents !== undefined && !rule.agents.matches(agentId))) continue;
      const finding = this.judgeRule(rule, index, key, seen, now, denied);
      if (finding !== undefined) findings.push(finding);
    }
    return escalate(decision, findings, seen.stop);
  }

  /** One rule's finding for this call, if its signal deviates. */
  private judgeRule(
    rule: CompiledMonitorRule,
    index: number,
    key: string,
    input: MonitorInput,
    now: number,
    denied: boolean,
  ): MonitorFinding | undefined {
    const { activity } = input;
    const baseline = this.mature(input.baseline) ? input.baseline : undefined;
    switch (rule.signal) {
      case 'rate':
      case 'denials':
      case 'output-volume':
        return this.judgeWindowed(rule, index, input, baseline, now, denied);
      case 'new-tool':
        if (baseline === undefined || (baseline.tools[key] ?? 0) > 0) return undefined;
        // raised at the first call of the tool that was judged against a baseline (not before it was learned)
        if (raisedOnceIn(input, rule, key, (entry) => entry.key === key)) return undefined;
        return oneCallFinding(rule, baseline, 0, `${key} was never called by this agent`, `calls of ${key}`);
      case 'transition': {
        const previous = activity.at(-1);
        if (baseline === undefined || previous === undefined) return undefined;
        const pair = `${previous.key} -> ${key}`;
        const seen = baseline.transitions[pair] ?? 0;
        if (seen >= (rule.below ?? DEFAULT_TRANSITION_BELOW)) return undefined;
        // raised at the pair's first occurrence that was judged against a baseline
        if (
          raisedOnceIn(
            input,
            rule,
            pair,
            (entry, at) => at > 0 && entry.key === key && activity[at - 1]?.key === previous.key,
          )
        )
          return undefined;
        return oneCallFinding(rule, baseline, seen, `${pair} is rare for this agent`, `calls ${pair}`);
      }
      case 'off-hours': {
        if (baseline === undefined) return undefined;
        const hour = new Date(now).getUTCHours();
        const share = baseline.calls === 0 ? 0 : (baseline.hours[hour] ?? 0) / baseline.calls;
        if (share >= (rule.below ?? DEFAULT_OFF_HOURS_BELOW)) return undefined;
        // raised at the session's first call in this hour that the rule counts
        if (this.countedThisHour(index, activity, now, hour)) return undefined;
        return oneCallFinding(
          rule,
          baseline,
          share,
          `a call at ${hour}:00 UTC is unusual for this agent`,
          `share of calls at ${hour}:00 UTC`,
        );
      }
    }
  }

  /**
   * Did the session make a call this rule counts in the same hour of the clock as `now`, less than an
   * hour ago? Calls of tools the rule does not watch do not count: they never raised it.
   */
  private countedThisHour(
    index: number,
    activity: readonly ActivityEntry[],
    now: number,
    hour: number,
  ): boolean {
    for (let at = activity.length - 1; at >= 0; at--) {
      const entry = activity[at] as ActivityEntry;
      if (now - entry.at >= 3_600_000) return false;
      if (this.countedBy(entry)[index] && new Date(entry.at).getUTCHours() === hour) return true;
    }
    return false;
  }

  /** A windowed signal: observed over the window (this call included) against `above` and `factor`. */
  private judgeWindowed(
    rule: CompiledMonitorRule,
    index: number,
    input: MonitorInput,
    mature: AgentBaseline | undefined,
    now: number,
    denied: boolean,
  ): MonitorFinding | undefined {
    const any = input.baseline;
    const bound = boundOf(rule, mature);
    if (bound === undefined) return undefined;
    const window = this.windowOf(rule, index, input.activity, now, denied, input.resumedAt);
    if (window.value <= bound.value || window.raisedBefore) return undefined;
    const peak = mature?.peaks[rule.id];
    const unit =
      rule.signal === 'output-volume' ? 'characters' : rule.signal === 'denials' ? 'denials' : 'calls';
    const windowText = formatWindow(rule.windowMs as number);
    return {
      rule: rule.id,
      signal: rule.signal,
      action: rule.action,
      observed: window.value,
      threshold: bound.value,
      windowMs: rule.windowMs as number,
      ...(mature !== undefined
        ? {
            baseline: baselineOf(
              mature,
              peak ?? 0,
              `busiest ${windowText} of any session: ${peak ?? 0} ${unit}`,
            ),
          }
        : {}),
      records: window.records,
      message:
        `${rule.reason}: ${window.value} ${unit} in ${windowText}, above ${bound.value} (${bound.why})` +
        (mature === undefined && any !== undefined ? ` — baseline not yet learned (${any.calls} calls)` : ''),
    };
  }

  /**
   * The value of a windowed rule's signal over `(now - window, now]`, this call included (its output
   * is not known yet), the calls counted, and whether an earlier call in the window raised the same
   * rule (a deviation is reported where it begins, not at every call while it lasts).
   */
  windowOf(
    rule: CompiledMonitorRule,
    index: number,
    activity: readonly ActivityEntry[],
    now: number,
    denied: boolean,
    resumedAt?: number,
  ): { value: number; records: string[]; raisedBefore: boolean } {
    const start = now - (rule.windowMs as number);
    const since = resumedAt !== undefined && resumedAt > start ? resumedAt : start;
    let value = rule.signal === 'rate' || (rule.signal === 'denials' && denied) ? 1 : 0;
    const records: string[] = [];
    let raisedBefore = false;
    for (let at = activity.length - 1; at >= 0; at--) {
      const entry = activity[at] as ActivityEntry;
      if (entry.at <= since) break;
      if (!this.countedBy(entry)[index]) continue;
      // before the count: the call that raised the rule may add nothing (paused, so it returned nothing)
      if (entry.raised?.includes(rule.id) === true) raisedBefore = true;
      const counted =
        rule.signal === 'rate' ? 1 : rule.signal === 'denials' ? (entry.denied ? 1 : 0) : entry.outputChars;
      if (counted === 0) continue;
      value += counted;
      if (records.length < MAX_FINDING_RECORDS - 1) records.push(entry.decisionId);
    }
    return { value, records: records.reverse(), raisedBefore };
  }
}

/** Did the session raise this one-call rule for `what` already (the set, or else a scan of the activity)? */
function raisedOnceIn(
  input: MonitorInput,
  rule: CompiledMonitorRule,
  what: string,
  occurrence: (entry: ActivityEntry, at: number) => boolean,
): boolean {
  if (input.raisedOnce !== undefined) return input.raisedOnce.has(`${rule.id}\u0000${what}`);
  return input.activity.some(
    (entry, at) => occurrence(entry, at) && entry.raised?.includes(rule.id) === true,
  );
}

function compileMonitorRule(rule: MonitorRuleDocument): CompiledMonitorRule {
  return {
    id: rule.id,
    reason: rule.reason,
    signal: rule.signal,
    action: rule.action,
    agents: compileGlobList(rule.agents),
    tool: compileToolMatch(rule.tool),
    windowMs: rule.window,
    above: rule.above,
    factor: rule.factor,
    below: rule.below,
  };
}

/** A tool the catalogue does not describe counts only for rules that do not ask for its risk or effects. */
function ruleCountsTool(rule: CompiledMonitorRule, tool: ToolRef, facts: ToolFacts | undefined): boolean {
  if (facts !== undefined) return toolMatches(rule.tool, tool, facts);
  if (rule.tool?.risk !== undefined || rule.tool?.effects !== undefined) return false;
  return toolMatches(rule.tool, tool, { risk: 'low', effects: [], untrustedOutput: false });
}

/** The bound a windowed signal must exceed: `above`, and `factor` × the peak once the baseline is mature. */
function boundOf(
  rule: CompiledMonitorRule,
  mature: AgentBaseline | undefined,
): { value: number; why: string } | undefined {
  // a baseline learned before the rule existed has no peak for it: only `above` applies until the
  // baselines are learned again (a learned peak of 0 is there, as 0)
  const peak = mature?.peaks[rule.id];
  const relative = rule.factor !== undefined && peak !== undefined ? rule.factor * peak : undefined;
  if (relative === undefined && rule.above === undefined) return undefined;
  if (relative === undefined) return { value: rule.above as number, why: 'the rule’s floor' };
  if (rule.above === undefined || relative >= rule.above)
    return { value: relative, why: `${rule.factor} × the baseline’s peak of ${peak}` };
  return { value: rule.above, why: 'the rule’s floor, above its baseline bound' };
}

function baselineOf(
  baseline: AgentBaseline,
  value: number,
  describes: string,
): NonNullable<MonitorFinding['baseline']> {
  return { from: baseline.from, to: baseline.to, calls: baseline.calls, value, describes };
}

function oneCallFinding(
  rule: CompiledMonitorRule,
  baseline: AgentBaseline,
  seen: number,
  what: string,
  describes: string,
): MonitorFinding {
  const threshold =
    rule.signal === 'new-tool'
      ? 0
      : (rule.below ?? (rule.signal === 'off-hours' ? DEFAULT_OFF_HOURS_BELOW : DEFAULT_TRANSITION_BELOW));
  return {
    rule: rule.id,
    signal: rule.signal,
    action: rule.action,
    observed: 1,
    threshold,
    baseline: baselineOf(baseline, seen, describes),
    records: [],
    message: `${rule.reason}: ${what} (baseline ${baseline.from} to ${baseline.to}, ${baseline.calls} calls: ${describes} ${Number.isInteger(seen) ? seen : seen.toFixed(4)})`,
  };
}

/** The decision as a stop of the session makes it (a policy without a monitor still honours one). */
export function applyStop(decision: Decision, stop: MonitorStop | undefined): Decision {
  return escalate(decision, [], stop);
}

/** The decision with the findings on it, its effect raised by the most severe stopping action. */
function escalate(
  decision: Decision,
  findings: readonly MonitorFinding[],
  stop: MonitorStop | undefined,
): Decision {
  if (findings.length === 0 && stop === undefined) return decision;
  let stopping: { rule: string; action: MonitorAction; reason: string } | undefined =
    stop === undefined
      ? undefined
      : {
          rule: stop.rule,
          action: stop.action,
          reason: `${stop.reason} (the session was stopped at call ${stop.decisionId}; an operator must resume it)`,
        };
  for (const finding of findings) {
    if (finding.action === 'alert') continue;
    if (stopping === undefined || severity(finding.action) > severity(stopping.action))
      stopping = { rule: finding.rule, action: finding.action, reason: finding.message };
  }
  const withFindings: Decision = findings.length > 0 ? { ...decision, monitor: [...findings] } : decision;
  if (stopping === undefined || decision.effect === 'deny') return withFindings;
  if (stopping.action === 'hold' && decision.effect === 'approve') return withFindings;
  const effect = stopping.action === 'hold' ? 'approve' : 'deny';
  return {
    ...withFindings,
    effect,
    reasons: [stopping.reason],
    decidedBy: [stopping.rule],
    matchedRules: [...decision.matchedRules, stopping.rule],
    // a hold asks the default approvers (counts reserved for an allow still apply to a held call);
    // a deny carries no obligations, as everywhere else
    obligations: effect === 'deny' ? [] : [...decision.obligations, monitorApproval(stopping.rule)],
  };
}

function severity(action: MonitorAction): number {
  return action === 'alert' ? 0 : action === 'hold' ? 1 : action === 'pause' ? 2 : 3;
}

/** A monitor's hold asks what an `approve` rule without `approval:` asks: one approver, not the owner alone. */
function monitorApproval(ruleId: string): Obligation {
  return {
    kind: 'approval',
    ruleIds: [ruleId],
    requirements: [{ ruleId, approvers: ['approver', 'admin'], quorum: 1, ownerMayApprove: false }],
  };
}

/** `90s`, `5m`, `1h`: a window as a policy would write it. */
export function formatWindow(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
