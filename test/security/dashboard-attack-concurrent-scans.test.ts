/**
 * Fixed: scans of one audit log run one at a time and concurrent requests for the same dashboard
 * (window, buckets, `now` within 5 s) share one computation (inspect/dashboard-aggregates); the scan
 * reads pages of 2,000 and lets the event loop run between them, and SQLite's lookup table is caught
 * up 10,000 records per step with the loop let go between steps (it was one synchronous insert of
 * every record appended since the last query: ~1 s here on its own).
 *
 * Attack: a viewer (the least role) asks for the 31-day dashboard many times at once. Each request
 * scans up to 200,000 records of the audit log (AuditLog.queryIndex, 21 pages of 10,000), and on SQLite
 * every page is a synchronous better-sqlite3 `.all()` on the process's main thread: the gateway that
 * serves agents' calls in the same process (`reins serve`) stalls while the pages are read. Nothing
 * shares, caches or limits concurrent dashboard scans (unlike /metrics' store gauge and /readyz'
 * probe, which are read at most once a second however many ask), so N concurrent requests are N full
 * scans: the 200,000-record cap bounds one request, not the viewer.
 *
 * Expected safe behaviour: the store work of concurrent dashboard requests for the same window is
 * bounded (shared, cached, or refused when too many run), so the records read by 8 concurrent 31-day
 * dashboards stay near one scan's 200,000, and the event loop is not held for seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DASHBOARD_LIMITS,
  DASHBOARD_MAX_RECORDS,
  dashboardAggregates,
} from '../../src/inspect/dashboard-aggregates.js';
import type { AuditEventV1 } from '../../src/spec/audit-event.js';
import type { AuditLog } from '../../src/store/audit-log.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';

const directory = mkdtempSync(join(tmpdir(), 'reins-dash-dos-'));
let log: SqliteAuditLog | undefined;
afterAll(async () => {
  await log?.close();
  rmSync(directory, { recursive: true, force: true });
});

function intent(n: number, at: number): AuditEventV1 {
  return {
    v: 1,
    id: `d${n}/intent`,
    time: new Date(at).toISOString(),
    kind: 'call-intent',
    decisionId: `d${n}`,
    sessionId: 's',
    principal: { agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] },
    tool: { server: 'crm', name: n % 3 ? 'read' : 'write' },
    links: [],
    args: {},
    decision: {
      effect: n % 3 ? 'allow' : 'deny',
      matchedRules: [],
      reasons: [],
      policyHash: 'sha256:00',
      diagnostics: [],
    },
    decisionLatencyUs: 1,
  };
}

describe('dashboard attack: concurrent 31-day dashboards', () => {
  it('bounds the store work of many concurrent requests', async () => {
    log = new SqliteAuditLog({ path: join(directory, 'audit.db') });
    const now = Date.now();
    const total = DASHBOARD_MAX_RECORDS + 1_000;
    for (let start = 0; start < total; start += 5_000) {
      const batch: Promise<unknown>[] = [];
      for (let n = start; n < Math.min(total, start + 5_000); n++)
        batch.push(log.append(intent(n, now - 86_400_000 + n)));
      await Promise.all(batch);
    }
    const real = log;
    let rowsRead = 0;
    const counted = {
      queryIndex: async (query: Parameters<AuditLog['queryIndex']>[0]) => {
        const rows = await real.queryIndex(query);
        rowsRead += rows.length;
        return rows;
      },
    } as unknown as AuditLog;

    // the longest gap between ticks of a 10 ms timer: how long the process answered nothing
    let last = performance.now();
    let maxStallMs = 0;
    const ticker = setInterval(() => {
      const at = performance.now();
      maxStallMs = Math.max(maxStallMs, at - last);
      last = at;
    }, 10);
    const started = performance.now();
    const requests = 8;
    await Promise.all(
      Array.from({ length: requests }, () =>
        dashboardAggregates(counted, {
          windowMs: DASHBOARD_LIMITS.maxWindowMs,
          buckets: 62,
          now: Date.now(),
        }),
      ),
    );
    const elapsedMs = performance.now() - started;
    clearInterval(ticker);
    maxStallMs = Math.max(maxStallMs, performance.now() - last);
    console.log(
      `8 concurrent 31d dashboards: ${rowsRead} rows read in ${elapsedMs.toFixed(0)} ms; longest event-loop stall ${maxStallMs.toFixed(0)} ms`,
    );
    expect({ rowsRead, stalledOverOneSecond: maxStallMs > 1_000 }).toEqual({
      rowsRead: expect.toSatisfy((rows: number) => rows <= 2 * DASHBOARD_MAX_RECORDS),
      stalledOverOneSecond: false,
    });
  }, 300_000);
});
