/**
 * @module policy/monitor-baseline
 * Learns each agent's baseline from its audit records (decision 0027): for every windowed monitor rule
 * the highest value its signal reached at any call of the period (computed by the same code that
 * judges live calls, over the same activity), and the agent's tools, tool-to-tool transitions and
 * hours of the day. Pure: the records come from the caller (inspect/monitor-baselines reads them from
 * the log), so the same records always give the same baseline, in every process.
 */
import { type AuditEventV1, type CallIntentEvent, toolKeyOf } from '../spec/audit-event.js';
import { type AgentBaseline, WINDOWED_SIGNALS } from '../spec/monitor.js';
import type { CompiledMonitor } from './monitor.js';
import { ActivityTrail } from './monitor-activity.js';

/** The period a baseline is learned from: `[from, to)`, epoch ms. */
export interface BaselinePeriod {
  readonly from: number;
  readonly to: number;
}

/** Entries older than every window are dropped from a trail this many at a time (or when all are). */
const TRIM_STEP = 64;
/** Idle sessions are swept after this many records. */
const SWEEP_EVERY = 5_000;

interface Learning {
  calls: number;
  readonly sessions: Set<string>;
  readonly peaks: Record<string, number>;
  readonly tools: Record<string, number>;
  readonly transitions: Record<string, number>;
  readonly hours: number[];
}

export class BaselineLearner {
  private readonly trails = new Map<string, ActivityTrail>();
  private readonly agents = new Map<string, Learning>();
  private readonly longestWindowMs: number;
  private added = 0;

  constructor(
    private readonly monitor: CompiledMonitor,
    private readonly period: BaselinePeriod,
  ) {
    let longest = 0;
    for (const rule of monitor.rules) if ((rule.windowMs ?? 0) > longest) longest = rule.windowMs as number;
    this.longestWindowMs = longest;
  }

  /** One record, in log order; records outside the period are ignored. */
  add(event: AuditEventV1): void {
    if (event.kind !== 'call-intent' && event.kind !== 'call-outcome' && event.kind !== 'operator-action')
      return;
    const at = Date.parse(event.time);
    if (!(at >= this.period.from && at < this.period.to)) return;
    if (event.kind === 'call-outcome') {
      this.trails.get(event.sessionId)?.end(event);
      return;
    }
    if (event.kind === 'operator-action') {
      if (event.sessionId !== '') this.trails.get(event.sessionId)?.operatorAction(event);
      return;
    }
    const trail = this.trailOf(event.sessionId);
    // what the monitor stopped is not what the agent usually does: a call that raised a stop, and every
    // call of the session while it stayed stopped, join the trail (later windows count them, as live)
    // but teach the baseline nothing, or an agent could raise its own bounds by bursting on
    if (trail.stop === undefined && !stopsTheSession(event)) this.learn(event, trail, at);
    trail.admit(event);
    this.trim(trail, at);
    if (++this.added % SWEEP_EVERY === 0) this.sweep(at);
  }

  private learn(event: CallIntentEvent, trail: ActivityTrail, at: number): void {
    const agentId = event.principal.agentId;
    const learning = this.learningOf(agentId);
    const key = toolKeyOf(event.tool);
    const matches = this.monitor.matchesOf(event.tool);
    const denied = event.decision.effect === 'deny';
    for (const [index, rule] of this.monitor.rules.entries()) {
      if (!WINDOWED_SIGNALS.has(rule.signal)) continue;
      if (rule.agents !== undefined && !rule.agents.matches(agentId)) continue;
      // every windowed rule that watches the agent has a peak, 0 until a call it counts
      learning.peaks[rule.id] ??= 0;
      if (!matches[index]) continue;
      const { value } = this.monitor.windowOf(rule, index, trail.entries, at, denied, trail.resumedAt);
      if (value > (learning.peaks[rule.id] ?? 0)) learning.peaks[rule.id] = value;
    }
    learning.calls++;
    learning.sessions.add(event.sessionId);
    learning.tools[key] = (learning.tools[key] ?? 0) + 1;
    const previous = trail.entries.at(-1);
    if (previous !== undefined) {
      const pair = `${previous.key} -> ${key}`;
      learning.transitions[pair] = (learning.transitions[pair] ?? 0) + 1;
    }
    const hour = new Date(at).getUTCHours();
    learning.hours[hour] = (learning.hours[hour] ?? 0) + 1;
  }

  /** Every agent seen in the period, with its baseline. */
  baselines(): Map<string, AgentBaseline> {
    const from = new Date(this.period.from).toISOString();
    const to = new Date(this.period.to).toISOString();
    const result = new Map<string, AgentBaseline>();
    for (const [agentId, learning] of this.agents)
      result.set(agentId, {
        agentId,
        from,
        to,
        calls: learning.calls,
        sessions: learning.sessions.size,
        peaks: { ...learning.peaks },
        tools: { ...learning.tools },
        transitions: { ...learning.transitions },
        hours: [...learning.hours],
      });
    return result;
  }

  private trailOf(sessionId: string): ActivityTrail {
    let trail = this.trails.get(sessionId);
    if (trail === undefined) {
      trail = new ActivityTrail();
      this.trails.set(sessionId, trail);
    }
    return trail;
  }

  private learningOf(agentId: string): Learning {
    let learning = this.agents.get(agentId);
    if (learning === undefined) {
      learning = {
        calls: 0,
        sessions: new Set(),
        peaks: {},
        tools: {},
        transitions: {},
        hours: new Array(24).fill(0),
      };
      this.agents.set(agentId, learning);
    }
    return learning;
  }

  /** Entries older than every window are no longer counted; the last one stays (transitions). */
  private trim(trail: ActivityTrail, now: number): void {
    const { entries } = trail;
    let drop = 0;
    while (drop < entries.length - 1 && (entries[drop] as { at: number }).at <= now - this.longestWindowMs)
      drop++;
    // in steps, so that a long session is not spliced at every call
    if (drop >= TRIM_STEP || (drop > 0 && drop === entries.length - 1)) entries.splice(0, drop);
  }

  /**
   * Sessions idle longer than every window keep only what the next call needs: their last call (for
   * transitions) and their stop. Bounds the learner's memory by the sessions active within a window.
   */
  private sweep(now: number): void {
    for (const [sessionId, trail] of this.trails) {
      const last = trail.entries.at(-1);
      if (last === undefined || last.at > now - this.longestWindowMs || trail.entries.length === 1) continue;
      const idle = new ActivityTrail();
      idle.entries.push(last);
      idle.stop = trail.stop;
      idle.resumedAt = trail.resumedAt;
      this.trails.set(sessionId, idle);
    }
  }
}

/** Does this intent carry a finding that stops its session? */
function stopsTheSession(intent: CallIntentEvent): boolean {
  return intent.monitor?.some((finding) => finding.action !== 'alert') === true;
}

/** The baselines of every agent in `events` (log order) over `period`. */
export function learnBaselines(
  monitor: CompiledMonitor,
  period: BaselinePeriod,
  events: Iterable<AuditEventV1>,
): Map<string, AgentBaseline> {
  const learner = new BaselineLearner(monitor, period);
  for (const event of events) learner.add(event);
  return learner.baselines();
}
