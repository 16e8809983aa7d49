/**
 * @module spec/monitor
 * Runtime monitoring (issue 19, decision 0027): the policy's `monitor:` section (signals compared with
 * each agent's baseline, and what to do when one deviates), the baseline learned from the audit log,
 * and a finding as it is recorded with the call that raised it. Validation only: `policy/monitor`
 * evaluates, `policy/monitor-baseline` learns.
 */
import { z } from 'zod';
import { DurationSchema } from './duration.js';

/**
 * What a monitor rule watches, per session, against the agent's baseline:
 * - `rate`: calls of the matching tools within `window`, this call included;
 * - `denials`: denied calls (of the matching tools) within `window`, this call included if denied;
 * - `output-volume`: characters of recorded results of the matching tools within `window`;
 * - `new-tool`: a matching tool the agent never called in its baseline;
 * - `transition`: the session's previous tool followed by this one, seen fewer than `below` times
 *   in the baseline;
 * - `off-hours`: a call in an hour (UTC) that held less than `below` of the baseline's calls.
 */
export const MonitorSignalSchema = z.enum([
  'rate',
  'denials',
  'output-volume',
  'new-tool',
  'transition',
  'off-hours',
]);
export type MonitorSignal = z.infer<typeof MonitorSignalSchema>;

/** Signals counted over a window (the others compare one call with the baseline). */
export const WINDOWED_SIGNALS: ReadonlySet<MonitorSignal> = new Set(['rate', 'denials', 'output-volume']);

/**
 * What happens when a rule's signal deviates: `alert` records the finding (audit, metric, webhook,
 * console) and lets the call go on; `hold` puts this and every later call of the session before humans;
 * `pause` denies this call and pauses the session; `suspend` denies it and suspends the agent (kill
 * switch). Holding, pausing and suspending stay until an operator resumes.
 */
export const MonitorActionSchema = z.enum(['alert', 'hold', 'pause', 'suspend']);
export type MonitorAction = z.infer<typeof MonitorActionSchema>;

/** Which actions stop the session, most severe last. */
export const STOPPING_ACTIONS: readonly MonitorAction[] = ['hold', 'pause', 'suspend'];

const GlobList = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]));

export const MonitorRuleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._:-]*$/,
        'use letters, digits, `.`, `_`, `:` and `-`, starting with a letter or digit',
      ),
    /** Shown to operators, and to the agent when the action stops the call. */
    reason: z.string().min(1),
    signal: MonitorSignalSchema,
    /** Agents (globs) the rule watches; default all. */
    agents: GlobList.optional(),
    /** Which calls count (same fields as a rule's `tool:`); default all. */
    tool: z
      .strictObject({
        server: GlobList.optional(),
        name: GlobList.optional(),
        risk: z
          .array(z.enum(['low', 'medium', 'high', 'critical']))
          .min(1)
          .optional(),
        effects: z
          .array(z.enum(['read', 'write', 'external', 'irreversible']))
          .min(1)
          .optional(),
      })
      .optional(),
    /** For `rate`, `denials`, `output-volume`: the sliding window. */
    window: DurationSchema.optional(),
    /** Absolute floor: the observed value must exceed it (also while the agent has no baseline). */
    above: z.number().nonnegative().optional(),
    /** Relative bound: the observed value must exceed `factor` × the baseline's peak (needs a baseline). */
    factor: z.number().positive().optional(),
    /** For `transition` (a count) and `off-hours` (a share of calls, 0–1): rarer than this deviates. */
    below: z.number().nonnegative().optional(),
    action: MonitorActionSchema.default('alert'),
  })
  .superRefine((rule, context) => {
    const windowed = WINDOWED_SIGNALS.has(rule.signal);
    if (windowed && rule.window === undefined)
      context.addIssue({
        code: 'custom',
        path: ['window'],
        message: `signal \`${rule.signal}\` needs a \`window\``,
      });
    if (windowed && rule.above === undefined && rule.factor === undefined)
      context.addIssue({
        code: 'custom',
        path: ['above'],
        message: `signal \`${rule.signal}\` needs \`above\`, \`factor\` or both: a bound to exceed`,
      });
    if (!windowed && (rule.window !== undefined || rule.above !== undefined || rule.factor !== undefined))
      context.addIssue({
        code: 'custom',
        path: ['signal'],
        message: `signal \`${rule.signal}\` compares one call with the baseline: \`window\`, \`above\` and \`factor\` do not apply`,
      });
    if (rule.signal === 'off-hours' && rule.below !== undefined && rule.below > 1)
      context.addIssue({
        code: 'custom',
        path: ['below'],
        message: '`below` of `off-hours` is a share of calls, 0 to 1',
      });
    if (windowed && rule.below !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['below'],
        message: `\`below\` does not apply to signal \`${rule.signal}\``,
      });
  });
export type MonitorRuleDocument = z.infer<typeof MonitorRuleSchema>;

export const MonitorSectionSchema = z.strictObject({
  /** How the baseline of each agent is learned from the audit log. */
  baseline: z
    .strictObject({
      /** How far back the log is read (ending at the start of the current hour). */
      window: DurationSchema.default(30 * 86_400_000),
      /**
       * Calls an agent needs in its baseline before relative bounds (`factor`) and the one-call
       * signals (`new-tool`, `transition`, `off-hours`) judge it; until then only `above` applies.
       */
      minCalls: z.number().int().positive().default(200),
    })
    .default({ window: 30 * 86_400_000, minCalls: 200 }),
  rules: z.array(MonitorRuleSchema).min(1),
});
export type MonitorSection = z.infer<typeof MonitorSectionSchema>;

/** What an agent usually does, learned from its recorded calls in a period (policy/monitor-baseline). */
export interface AgentBaseline {
  readonly agentId: string;
  /** ISO 8601: the period read from the log, [from, to). */
  readonly from: string;
  readonly to: string;
  /** Calls (intents) of the agent in the period, and in how many sessions. */
  readonly calls: number;
  readonly sessions: number;
  /** Per windowed rule: the highest value the rule's signal reached in any session of the period. */
  readonly peaks: Readonly<Record<string, number>>;
  /** Calls per tool (`server/name`). */
  readonly tools: Readonly<Record<string, number>>;
  /** Consecutive calls within a session, `server/name -> server/name`. */
  readonly transitions: Readonly<Record<string, number>>;
  /** Calls per hour of the day (UTC), 24 entries. */
  readonly hours: readonly number[];
}

/** The current baseline of an agent, synchronous (a decision does not wait for it). */
export interface BaselineSource {
  of(agentId: string): AgentBaseline | undefined;
}

/** A call the monitor raised findings on, told after its intent (with the findings) is durable. */
export interface MonitorEvent {
  readonly decisionId: string;
  readonly sessionId: string;
  readonly agentId: string;
  readonly tool: { readonly server: string; readonly name: string };
  /** The call's effect, the monitor's action included. */
  readonly effect: 'allow' | 'deny' | 'approve';
  readonly time: string;
  readonly findings: readonly MonitorFinding[];
}

/**
 * Told by the harness about each `MonitorEvent` (alerts; a pause or suspension carried out through
 * oversight, so that the session's status and the agent's standing show it). Its failure is ignored:
 * the stop is in the log already.
 */
export type MonitorListener = (event: MonitorEvent) => void | Promise<void>;

/** The baseline a finding compared with, as recorded (enough to explain it without the log). */
export const FindingBaselineSchema = z.strictObject({
  from: z.string(),
  to: z.string(),
  calls: z.number().int().nonnegative(),
  /** What the baseline held for this signal: a peak, a count or a share. */
  value: z.number(),
  /** In words, e.g. `busiest 1m of any session: 4 calls`. */
  describes: z.string(),
});

/** A monitor rule's signal that deviated, recorded with the call that raised it (`call-intent.monitor`). */
export const MonitorFindingSchema = z.strictObject({
  rule: z.string(),
  signal: MonitorSignalSchema,
  action: MonitorActionSchema,
  /** What was observed (a count, characters, or for one-call signals 1). */
  observed: z.number(),
  /** The bound it exceeded (windowed signals), or the baseline count it fell under (one-call signals). */
  threshold: z.number(),
  /** The window, in milliseconds (windowed signals). */
  windowMs: z.number().int().positive().optional(),
  /** The baseline compared with; absent when the agent has none yet (then `above` alone applied). */
  baseline: FindingBaselineSchema.optional(),
  /** The calls (decision ids) the observed value counts, oldest first, at most 50; this call is last. */
  records: z.array(z.string()).max(50),
  message: z.string(),
});
export type MonitorFinding = z.infer<typeof MonitorFindingSchema>;

/** The most records a finding names. */
export const MAX_FINDING_RECORDS = 50;
