/**
 * @module test/session-ownership.test
 * A session belongs to the agent that opened it first, in any process on the store (issue 14): an
 * intruder who reaches a replica that has not seen the session yet — or has forgotten it while idle —
 * cannot write into it, even where the policy reads nothing about the session. Two harnesses on one
 * SQLite file, each with its own connections, stand for two processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../src/harness/harness.js';
import { SharedSessionRegistry } from '../src/harness/shared-session-registry.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteOversightStore } from '../src/store/sqlite/sqlite-oversight-store.js';
import { policyFrom } from './support/policy-fixtures.js';

const POLICY = policyFrom(
  `
rules:
  - { id: all, effect: allow, reason: everything is allowed }
`,
  { catalogue: 'tools:\n  - { server: mail, name: inbox, risk: low, effects: [read] }\n' },
);

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function startProcess(path: string): Promise<Harness> {
  const audit = new SqliteAuditLog({ path });
  const oversight = new SqliteOversightStore({ path, pollIntervalMs: 5 });
  const sessions = await SharedSessionRegistry.start(oversight.sessions);
  cleanup.push(
    () => audit.close(),
    () => oversight.close(),
    () => sessions.stop(),
  );
  return new Harness({ policy: { current: POLICY }, audit, sessions, counters: oversight.counters });
}

const call = (agentId: string) => ({
  principal: { agentId },
  sessionId: 'victim-session',
  tool: { server: 'mail', name: 'inbox' },
  args: {},
});

describe('session ownership across processes', () => {
  it('refuses another agent in a session opened in another process', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'reins-ownership-'));
    cleanup.push(() => rmSync(directory, { recursive: true, force: true }));
    const path = join(directory, 'audit.db');
    const first = await startProcess(path);
    const second = await startProcess(path);
    let ran = 0;
    const tool = async () => {
      ran++;
      return 'mail';
    };
    const opened = await first.call(call('victim'), tool);
    expect(opened.status, JSON.stringify(opened)).toBe('ok');
    const intruder = await second.call(call('intruder'), tool);
    expect(intruder.status).toBe('denied');
    expect(intruder.decision.diagnostics.map((diagnostic) => diagnostic.code)).toEqual([
      'session_agent_mismatch',
    ]);
    // and the owner goes on in either process
    expect((await second.call(call('victim'), tool)).status).toBe('ok');
    expect(ran).toBe(2);
  });
});
