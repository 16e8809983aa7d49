/**
 * @module test/security/monitor-attack-support
 * Shared set-up for the monitor attack tests: real SQLite files, real Harness processes (each with its
 * own store connections), real oversight, as in test/monitor-pipeline.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness } from '../../src/harness/harness.js';
import { SharedSessionRegistry } from '../../src/harness/shared-session-registry.js';
import { monitorResponder } from '../../src/oversight/monitor-response.js';
import { StoreOversight } from '../../src/oversight/store-oversight.js';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import type { CallIntentEvent } from '../../src/spec/audit-event.js';
import type { BaselineSource, MonitorEvent } from '../../src/spec/monitor.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';

export interface Process {
  readonly harness: Harness;
  readonly audit: SqliteAuditLog;
  readonly oversightStore: SqliteOversightStore;
  readonly sessions: SharedSessionRegistry;
}

export class World {
  readonly directory = mkdtempSync(join(tmpdir(), 'reins-monitor-attack-'));
  readonly path = join(this.directory, 'reins.db');
  now = Date.parse('2026-12-07T10:00:00Z');
  readonly identities = new SqliteIdentityStore({ path: this.path });
  readonly operatorAudit = new SqliteAuditLog({ path: this.path });
  readonly operatorStore = new SqliteOversightStore({ path: this.path, pollIntervalMs: 5 });
  readonly oversight = new StoreOversight({
    approvals: this.operatorStore.approvals,
    sessions: this.operatorStore.sessions,
    identities: this.identities,
    audit: this.operatorAudit,
    clock: () => this.now,
  });
  readonly processes: Process[] = [];
  readonly told: MonitorEvent[] = [];
  readonly logged: string[] = [];

  async start(
    policy: { current: PreparedPolicy },
    options: { baselines?: BaselineSource; listener?: boolean; clock?: () => number } = {},
  ): Promise<Process> {
    const audit = new SqliteAuditLog({ path: this.path });
    const oversightStore = new SqliteOversightStore({ path: this.path, pollIntervalMs: 5 });
    const sessions = await SharedSessionRegistry.start(oversightStore.sessions);
    const respond = monitorResponder({
      oversight: async () => this.oversight,
      log: (line) => this.logged.push(line),
    });
    const harness = new Harness({
      policy,
      audit,
      sessions,
      clock: options.clock ?? (() => this.now),
      ...(options.baselines !== undefined ? { baselines: options.baselines } : {}),
      ...(options.listener === false
        ? {}
        : {
            onMonitorFindings: async (event: MonitorEvent) => {
              this.told.push(event);
              await respond(event);
            },
          }),
    });
    const process = { harness, audit, oversightStore, sessions };
    this.processes.push(process);
    return process;
  }

  async stop(process: Process): Promise<void> {
    this.processes.splice(this.processes.indexOf(process), 1);
    await process.harness.settled();
    process.sessions.stop();
    await process.oversightStore.close();
    await process.audit.close();
  }

  async close(): Promise<void> {
    for (const process of [...this.processes]) await this.stop(process);
    await this.operatorStore.close();
    await this.operatorAudit.close();
    await this.identities.close();
    rmSync(this.directory, { recursive: true, force: true });
  }

  async intents(sessionId?: string): Promise<CallIntentEvent[]> {
    const records = await this.operatorAudit.query({
      ...(sessionId !== undefined ? { sessionId } : {}),
      kind: 'call-intent',
      limit: 10_000,
    });
    return records.map((record) => record.event as CallIntentEvent);
  }
}

export const ok = async () => ({ rows: ['a', 'b'] });
export const OPS = { id: 'ops@example.com', roles: ['admin'] };
