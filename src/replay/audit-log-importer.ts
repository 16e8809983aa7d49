/**
 * @module replay/audit-log-importer
 * Reads our own SQLite audit log as replay traces, for backtesting: one trace per session, its calls
 * in log order, each with the arguments of its intent and the result (or error) of its outcome. A
 * new policy replayed over it says which past calls it would have decided differently.
 *
 * The log records what the policy of the day let run: a refused call has no result, so a later
 * decision that depends on it sees only what the agent really saw. Sessions are not told apart by
 * environment (use one policy for the whole log).
 */

import type { CallIntentEvent, CallOutcomeEvent } from '../spec/audit-event.js';
import { describeError } from '../spec/errors.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import type { ReplayStep, ReplayTrace, TraceImporter, TraceProblem } from './trace.js';

export class AuditLogImporter implements TraceImporter {
  readonly format = 'audit-log';

  async *read(source: string): AsyncIterable<ReplayTrace | TraceProblem> {
    let log: SqliteAuditLog;
    try {
      log = new SqliteAuditLog({ path: source, readOnly: true });
    } catch (error) {
      yield { kind: 'problem', id: source, message: `cannot open the audit log: ${describeError(error)}` };
      return;
    }
    const sessions = new Map<
      string,
      { agentId: string; steps: ReplayStep[]; byDecision: Map<string, number> }
    >();
    try {
      for await (const record of log.records()) {
        if (record.kind !== 'call-intent' && record.kind !== 'call-outcome') continue;
        const event = JSON.parse(record.body) as CallIntentEvent | CallOutcomeEvent;
        let session = sessions.get(event.sessionId);
        if (session === undefined) {
          session = { agentId: event.principal.agentId, steps: [], byDecision: new Map() };
          sessions.set(event.sessionId, session);
        }
        if (event.kind === 'call-intent') {
          session.byDecision.set(event.decisionId, session.steps.length);
          session.steps.push({
            kind: 'call',
            tool: event.tool,
            args: event.args,
            result: { ok: false, error: 'no outcome recorded' },
          });
        } else {
          const position = session.byDecision.get(event.decisionId);
          const step = position === undefined ? undefined : session.steps[position];
          if (position === undefined || step === undefined || step.kind !== 'call') continue;
          session.steps[position] = {
            kind: 'call',
            tool: step.tool,
            args: step.args,
            result:
              event.outcome === 'ok'
                ? { ok: true, output: event.result }
                : { ok: false, error: event.error ?? event.outcome },
          };
        }
      }
    } finally {
      await log.close().catch(() => undefined);
    }
    for (const [sessionId, session] of sessions) {
      yield { id: sessionId, environment: undefined, agentId: session.agentId, steps: session.steps };
    }
  }
}
