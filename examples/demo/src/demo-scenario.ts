/**
 * @module examples/demo/demo-scenario
 * What every `reins demo` scenario receives and returns: the shared audit log and output, and the
 * checks that make the demo self-verifying (the exit code comes from them, not from the printed text).
 */
import type { AuditLog, Effect, Outcome, VerifyReport } from 'reins';

export interface ScenarioContext {
  readonly audit: AuditLog;
  readonly write: (line: string) => void;
  /** Records up to this seq existed before the scenario; its audit trail is read after it. */
  readonly auditHeadSeq: number;
  /** Where the policies are read from instead of `examples/demo/` (tests use altered copies). */
  readonly policyDirectory?: string;
}

/** One expectation about what happened; the demo fails when any is not met. */
export interface DemoCheck {
  readonly description: string;
  readonly passed: boolean;
}

/** One tool call made through the harness, as the scenario saw it. */
export interface GovernedCall {
  readonly decisionId: string;
  /** `server/name`. */
  readonly tool: string;
  readonly effect: Effect;
  readonly outcome: Outcome;
  readonly matchedRules: readonly string[];
  readonly reasons: readonly string[];
}

/** What the audit log holds for one scenario's calls. */
export interface ScenarioAudit {
  /** Records this scenario's calls appended (an intent and an outcome per call). */
  readonly records: number;
  /** Calls whose decision id has both an intent and an outcome record. */
  readonly completeCalls: number;
  readonly chain: VerifyReport;
}

export function check(description: string, passed: boolean): DemoCheck {
  return { description, passed };
}
