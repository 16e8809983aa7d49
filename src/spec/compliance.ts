/**
 * @module spec/compliance
 * Continuous compliance (issue 19): what `reins compliance scan` and the scheduled scan of `reins serve`
 * report. A finding has a stable code, a severity, the subject it is about, a message, the evidence it
 * came from and a concrete fix; the thresholds are durations with safe defaults, settable in the
 * gateway configuration (`compliance:`) and on the command line. docs/compliance.md lists every code.
 */
import { z } from 'zod';
import { DurationSchema } from './duration.js';

export const SeveritySchema = z.enum(['low', 'medium', 'high', 'critical']);
export type Severity = z.infer<typeof SeveritySchema>;

/** Ascending: a `--fail-on` severity fails on itself and everything above it. */
export const SEVERITIES: readonly Severity[] = SeveritySchema.options;

export function atLeast(severity: Severity, threshold: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(threshold);
}

/** Every finding code; stable (tests, dashboards and suppressions key on them). */
export const FINDING_CODES = [
  'agent.dormant',
  'agent.no-owner',
  'grant.unused',
  'grant.unchecked',
  'tool.uncatalogued',
  'tool.ungated-effect',
  'tool.conditional-gate',
  'pin.drifted',
  'pin.quarantined',
  'audit.chain-broken',
  'audit.chain-unverified',
  'audit.signatures-unchecked',
  'audit.checkpoints-unpublished',
  'audit.checkpoint-stale',
  'key.old',
  'key.age-unknown',
] as const;
export const FindingCodeSchema = z.enum(FINDING_CODES);
export type FindingCode = z.infer<typeof FindingCodeSchema>;

export const ComplianceFindingSchema = z.strictObject({
  code: FindingCodeSchema,
  severity: SeveritySchema,
  /** What it is about: `agent:<id>`, `tool:<server/name>`, `key:<purpose>`, `audit`. */
  subject: z.string(),
  message: z.string(),
  /** Where it was read: records, files, times; each a short line. */
  evidence: z.array(z.string()),
  /** What to do, concretely (a command, a policy change). */
  fix: z.string(),
});
export type ComplianceFinding = z.infer<typeof ComplianceFindingSchema>;

/** One check that ran (or could not), so that a clean report says what it looked at. */
export const ComplianceCheckSchema = z.strictObject({
  name: z.string(),
  /**
   * `skipped`: the scan had nothing to check it against, or left it to another command (said in
   * `note`); `unknown`: it ran but could not tell (a key whose age no file records).
   */
  status: z.enum(['done', 'skipped', 'unknown']),
  note: z.string().optional(),
});
export type ComplianceCheck = z.infer<typeof ComplianceCheckSchema>;

/** The narrowing of one agent the scan recommends (its policy rules are in `recommendation.policy`). */
export const AgentNarrowingSchema = z.strictObject({
  agentId: z.string(),
  /** Tools it may call and did not in the window: denied by the recommended policy. */
  unusedTools: z.array(z.string()),
  /** Scopes of its mission that covered no call in the window. */
  unusedScopes: z.array(z.string()),
  /** Scopes for its next credential: exactly the tools it called (`reins agents token --scopes`). */
  nextScopes: z.array(z.string()),
  /**
   * Tools of `unusedTools` the recommended policy does not deny because their name (or the agent's id)
   * holds glob or control characters, which a rule would read as a pattern: narrow them by hand.
   */
  notExpressible: z.array(z.string()),
  /** Recorded calls before the window that the recommendation would decide differently. */
  olderCallsAffected: z.number().int(),
  /** True when a count reached the store's query limit: `olderCallsAffected` is then a lower bound. */
  olderCallsTruncated: z.boolean(),
});
export type AgentNarrowing = z.infer<typeof AgentNarrowingSchema>;

export const ComplianceReportSchema = z.strictObject({
  /** ISO 8601: the time the scan judged ages against. */
  at: z.string(),
  /** Start of the usage window (`at` minus `unusedAfter`). */
  windowStart: z.string(),
  thresholds: z.strictObject({
    unusedAfterMs: z.number(),
    keyMaxAgeMs: z.number(),
    checkpointMaxAgeMs: z.number(),
    maxVerifyRecords: z.number(),
  }),
  findings: z.array(ComplianceFindingSchema),
  checks: z.array(ComplianceCheckSchema),
  recommendation: z
    .strictObject({
      /** A policy document (YAML) to add beside the policy in force; none when nothing narrows. */
      policy: z.string().optional(),
      agents: z.array(AgentNarrowingSchema),
    })
    .optional(),
});
export type ComplianceReport = z.infer<typeof ComplianceReportSchema>;

/**
 * The scheduled scan as `GET /v1/compliance` serves it: the last report that succeeded, and whether it
 * still speaks for the deployment. `stale` when the last attempt failed (`lastError`) or the report is
 * older than twice the schedule's period (the timer stopped, or scans take longer than the period).
 */
export const ScheduledComplianceSchema = ComplianceReportSchema.extend({
  stale: z.boolean(),
  /** Why it is stale; absent when it is not. */
  staleReason: z.string().optional(),
  /** When the last scan started (ISO 8601), whatever its result. */
  lastAttemptAt: z.string().optional(),
  /** Why the last scan failed; absent when it succeeded. */
  lastError: z.string().optional(),
});
export type ScheduledCompliance = z.infer<typeof ScheduledComplianceSchema>;

/** What the scheduled scan of a process knows, for the route to judge. */
export interface ComplianceScanState {
  /** The last report of a scan that finished; undefined before the first success. */
  readonly report: ComplianceReport | undefined;
  /** When the last scan started (ISO 8601), undefined before the first. */
  readonly lastAttemptAt: string | undefined;
  /** Why the last scan failed; undefined when it succeeded (or none has finished). */
  readonly lastError: string | undefined;
  /** The schedule's period (`compliance.every`). */
  readonly everyMs: number;
}

/** The served form of a state with a report: stale when its last attempt failed or it is too old. */
export function servedCompliance(
  state: ComplianceScanState & { readonly report: ComplianceReport },
  now: number,
): ScheduledCompliance {
  const { report, lastAttemptAt, lastError, everyMs } = state;
  const age = now - Date.parse(report.at);
  const staleReason =
    lastError !== undefined
      ? `the last scan (started ${lastAttemptAt}) failed: ${lastError}; this is the report of ${report.at}`
      : age > 2 * everyMs
        ? `the report of ${report.at} is older than twice the schedule (${Math.round(everyMs / 1000)}s): no scan has finished since`
        : undefined;
  return {
    ...report,
    stale: staleReason !== undefined,
    ...(staleReason !== undefined ? { staleReason } : {}),
    ...(lastAttemptAt !== undefined ? { lastAttemptAt } : {}),
    ...(lastError !== undefined ? { lastError } : {}),
  };
}

const DAY_MS = 86_400_000;

/** Safe defaults, documented in docs/compliance.md. */
export const DEFAULT_COMPLIANCE_THRESHOLDS = {
  /** A grant (or an agent) not exercised for this long is reported. */
  unusedAfterMs: 30 * DAY_MS,
  /** A signing key older than this should be rotated. */
  keyMaxAgeMs: 90 * DAY_MS,
  /** Records waiting longer than this for a published checkpoint are reported. */
  checkpointMaxAgeMs: 7 * DAY_MS,
  /** A chain longer than this is not verified by a scan (`reins audit verify` does it in full). */
  maxVerifyRecords: 1_000_000,
} as const;
export type ComplianceThresholds = { -readonly [K in keyof typeof DEFAULT_COMPLIANCE_THRESHOLDS]: number };

/** `compliance:` of the gateway configuration: the scheduled scan of `reins serve` and the thresholds. */
export const ComplianceConfigSchema = z.strictObject({
  /** Run the scan this often inside `reins serve` (and once at start); absent: not scheduled. */
  every: DurationSchema.optional(),
  unusedAfter: DurationSchema.optional(),
  keyMaxAge: DurationSchema.optional(),
  checkpointMaxAge: DurationSchema.optional(),
  maxVerifyRecords: z.number().int().positive().optional(),
});
export type ComplianceConfig = z.infer<typeof ComplianceConfigSchema>;

/** The thresholds a configuration (and then the command line) sets over the defaults. */
export function complianceThresholds(
  ...layers: readonly (Partial<Record<string, number | undefined>> | undefined)[]
): ComplianceThresholds {
  const thresholds: ComplianceThresholds = { ...DEFAULT_COMPLIANCE_THRESHOLDS };
  for (const layer of layers) {
    if (layer === undefined) continue;
    if (layer.unusedAfter !== undefined) thresholds.unusedAfterMs = layer.unusedAfter;
    if (layer.keyMaxAge !== undefined) thresholds.keyMaxAgeMs = layer.keyMaxAge;
    if (layer.checkpointMaxAge !== undefined) thresholds.checkpointMaxAgeMs = layer.checkpointMaxAge;
    if (layer.maxVerifyRecords !== undefined) thresholds.maxVerifyRecords = layer.maxVerifyRecords;
  }
  return thresholds;
}
