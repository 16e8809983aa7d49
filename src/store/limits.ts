/**
 * @module store/limits
 * How many rows a read may return: the one rule every backend applies to the `limit` of audit queries
 * and of approval and session lists, so that the same request returns as many rows on SQLite as on
 * PostgreSQL. The result is always a whole number in range, safe to write into SQL text.
 */
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from './audit-log.js';

export interface LimitRule {
  /** Rows returned when no limit is given (or it is not a number). */
  readonly default: number;
  /** Rows returned at the most, whatever the caller asks for. */
  readonly max: number;
}

/** `AuditLog.query`. */
export const AUDIT_QUERY_LIMITS: LimitRule = { default: DEFAULT_QUERY_LIMIT, max: MAX_QUERY_LIMIT };

/** `ApprovalStore.list` and `SessionControlStore.list`. */
export const LIST_LIMITS: LimitRule = { default: 1_000, max: 1_000 };

/**
 * The limit to apply: the default when none is given or it is NaN; otherwise rounded down and held
 * within [1, max]. So `Infinity` asks for (and gets) the most allowed, and no value, however
 * negative, reads without a limit.
 */
export function effectiveLimit(requested: number | undefined, rule: LimitRule): number {
  if (requested === undefined || Number.isNaN(requested)) return rule.default;
  if (requested >= rule.max) return rule.max;
  if (requested < 1) return 1;
  return Math.floor(requested);
}
