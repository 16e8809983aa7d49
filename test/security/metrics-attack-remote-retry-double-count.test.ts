/**
 * Fixed: an outcome the log refuses on the remote protocol (which may be reported again) is not told to the observer; the attempt that records it is (harness recordOutcome `retryable`).
 * Attack: a call of the remote protocol (`open` / `complete`) whose outcome the audit log refuses once
 * (a transient SQLITE_BUSY, a PostgreSQL failover) is reported to the agent as `error`, the end claim
 * is released so the agent may report again, and the agent's retry of `complete` records the outcome.
 * The harness tells the metrics observer at both attempts, so ONE call (one decision, one intent, one
 * recorded outcome) is counted twice in `reins_calls_total` (once `error`, once `ok`) and twice in
 * `reins_decisions_total`. call-observer.ts promises "Told once per call, whichever path it took";
 * docs/deployment.md says `reins_calls_total` counts "calls that ended".
 *
 * Expected safe behaviour: one call → one observation (the retried completion is the same call), so
 * the counters agree with the audit log (one intent, one outcome).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CallObservation } from '../../src/harness/call-observer.js';
import { Harness } from '../../src/harness/harness.js';
import type { AuditLog } from '../../src/store/audit-log.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { ReinsMetrics } from '../../src/telemetry/metrics.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { metricValue, parseMetrics } from '../support/prometheus-text.js';

const POLICY = policyFrom(`
rules:
  - id: reads
    effect: allow
    tool: { effects: read }
    reason: reads are fine
`);

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

describe('metrics attack: remote completion retried after the log refused the outcome once', () => {
  it('counts the one call once', async () => {
    const real = new SqliteAuditLog({ path: ':memory:' });
    logs.push(real);
    let refuseNextOutcome = true;
    const audit: AuditLog = {
      readCaptured: (hash) => real.readCaptured(hash),
      records: (options) => real.records(options),
      query: (query) => real.query(query),
      queryIndex: (query) => real.queryIndex(query),
      checkpoints: () => real.checkpoints(),
      checkpoint: () => real.checkpoint(),
      prune: (before) => real.prune(before),
      verify: (options) => real.verify(options),
      close: () => real.close(),
      append: (event, options) => {
        if (event.kind === 'call-outcome' && refuseNextOutcome) {
          refuseNextOutcome = false;
          return Promise.reject(new Error('SQLITE_BUSY: database is locked'));
        }
        return real.append(event, options);
      },
    };
    const metrics = new ReinsMetrics({ defaultMetrics: false });
    const seen: CallObservation[] = [];
    const harness = new Harness({
      policy: { current: POLICY },
      audit,
      observer: {
        observeCall: (observation) => {
          seen.push(observation);
          metrics.observeCall(observation);
        },
      },
    });
    const request = {
      principal: { agentId: 'agent-a' },
      sessionId: 's1',
      tool: { server: 'crm', name: 'db.select' },
      args: {},
    };
    const opened = await harness.open(request);
    if (!opened.ok) throw new Error('not opened');
    expect(opened.state.status).toBe('ready');
    const caller = { principal: { agentId: 'agent-a', delegatedBy: [] }, sessionId: 's1' } as never;
    const first = await harness.complete(caller, opened.state.id, { ok: true, result: 'done' });
    // the agent is told the outcome was not recorded, and retries
    expect(first.ok && first.state.status).not.toBe('ok');
    const second = await harness.complete(caller, opened.state.id, { ok: true, result: 'done' });
    expect(second.ok && second.state.status).toBe('completed');

    // the log holds one intent and one outcome for this call
    const rows = await real.queryIndex({ limit: 100 });
    expect(rows.filter((row) => row.kind === 'call-intent')).toHaveLength(1);
    expect(rows.filter((row) => row.kind === 'call-outcome')).toHaveLength(1);

    const families = parseMetrics((await metrics.text()).body);
    const calls = families.get('reins_calls_total')?.metrics.reduce((sum, m) => sum + Number(m.value), 0);
    expect({
      observations: seen.length,
      callsTotal: calls,
      decisionsReads: metricValue(families, 'reins_decisions_total', { effect: 'allow', rule: 'reads' }),
    }).toEqual({ observations: 1, callsTotal: 1, decisionsReads: 1 });
  });
});
