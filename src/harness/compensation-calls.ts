/**
 * @module harness/compensation-calls
 * What the harness does differently for a rollback's compensations (issue 16, decision 0022): where
 * they may run (the reserved rollback session of the session they undo, where nothing else may), and
 * how their arguments are recorded (the captured state they restore stays out of the log).
 */
import type { PreparedPolicy } from '../policy/prepared-policy.js';
import type { Diagnostic } from '../spec/decision.js';
import { type Compensates, isRollbackSession, rollbackSessionOf } from '../spec/reversal.js';
import type { ToolRef } from '../spec/tool-call.js';
import { screenWithPolicy } from './upstream-screen.js';

/**
 * Rollback sessions are Reins' own: only a rollback's compensations run there, and a compensation only
 * in the rollback session of the session it undoes. Whatever credential names such a session, an
 * ordinary call in it is refused.
 */
export function reservedSessionRefusal(
  sessionId: string,
  compensates: Compensates | undefined,
): Diagnostic | undefined {
  if (compensates === undefined) {
    if (!isRollbackSession(sessionId)) return undefined;
    return {
      code: 'reserved_session',
      message: `session \`${sessionId}\` is reserved for rollbacks: agents cannot act in it`,
    };
  }
  if (sessionId === rollbackSessionOf(compensates.sessionId)) return undefined;
  return {
    code: 'reserved_session',
    message: `a compensation of session \`${compensates.sessionId}\` runs only in \`${rollbackSessionOf(compensates.sessionId)}\``,
  };
}

/**
 * A compensation's arguments as the log keeps them: screened like output (redacted, or withheld where
 * the policy blocks), and every string summarised unless the undone call's recorded arguments hold the
 * same string under the same top-level name (a path it named). What it restores comes from the
 * captured state, which stays out of the log; the summary gives no length, and a string the agent put
 * elsewhere in its own arguments confirms nothing.
 */
export function compensationArgsForRecord(
  policy: PreparedPolicy,
  tool: ToolRef,
  args: Record<string, unknown>,
  undoneArgs: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const summarised: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(args)) {
    const named = typeof value === 'string' && undoneArgs?.[name] === value;
    summarised[name] = named ? value : summaryOf(value);
  }
  const screened = screenWithPolicy(policy, tool, summarised, 'the compensation arguments');
  return screened.ok ? screened.value : { withheld: screened.reason };
}

/** A value from the captured state, as the log shows it: its shape, never its strings. */
function summaryOf(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'string' ? '(restored from the captured state)' : item,
    ) ?? 'null',
  );
}
