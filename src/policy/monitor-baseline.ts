/**
 * @module policy/monitor-baseline
 * Learns each agent's baseline from its audit records (decision 0027): for every windowed monitor rule
 * the highest value its signal reached at any call of the period (computed by the same code that
 * judges live calls, over the same activity), and the agent's tools, tool-to-tool transitions and
 * hours of the day. Pure: the records come from the caller (inspect/monitor-baselines reads them from
 * the log), so the same records always give the same baseline, in every process.
 */
import type { AuditEventV1 } from '../spec/audit-event.js';
import { type AgentBaseline, WINDOWED_SIGNALS } from '../spec/monitor.js';
import type { CompiledMonitor } from './monitor.js';
import { ActivityTrail } from './monitor-activity.js';

/** The period a baseline is learned from: `[from, to)`, epoch ms. */
export interface BaselinePeriod {
  readonly from: number;
  readonly to: number;
}

/** Entries a session's trail keeps while learning once they are older than every window. */
const TRIM_AT = 1_000;

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
    if (event.kind !== 'call-intent' && event.kind !== 'call-outcome') return;
    const at = Date.parse(event.time);
    if (!(at >= this.period.from && at < this.period.to)) return;
    if (event.kind === 'call-outcome') {
      this.trails.get(event.sessionId)?.end(event);
      return;
    }
    const trail = this.trailOf(event.sessionId);
    const agentId = event.principal.agentId;
    const learning = this.learningOf(agentId);
    const key = `${event.tool.server}/${event.tool.name}`;
    const matches = this.monitor.matchesOf(event.tool, key);
    for (const [index, rule] of this.monitor.rules.entries()) {
      if (!WINDOWED_SIGNALS.has(rule.signal)) continue;
      if (rule.agents !== undefined && !rule.agents.matches(agentId)) continue;
      // every windowed rule that watches the agent has a peak, 0 until a call it counts
      learning.peaks[rule.id] ??= 0;
      if (!matches[index]) continue;
      const { value } = this.monitor.windowOf(
        rule,
        index,
        trail.entries,
        at,
        event.decision.effect === 'deny',
      );
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
    trail.admit(event);
    this.trim(trail, at);
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
    if (entries.length < TRIM_AT) return;
    let keep = 0;
    while (keep < entries.length - 1 && (entries[keep] as { at: number }).at <= now - this.longestWindowMs)
      keep++;
    if (keep > 0) entries.splice(0, keep);
  }
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
