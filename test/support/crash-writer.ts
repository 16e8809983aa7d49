/**
 * @module test/support/crash-writer
 * Child process for the kill -9 test: runs governed calls as fast as it can, and every action that
 * actually runs appends its decision id to a side file (the "world"). The parent kills it mid-load.
 * Usage: node --import tsx test/support/crash-writer.ts <audit.db> <actions.log> [full|process] [callers]
 * (lone events are written on the main thread, bursts by the writer thread: one caller exercises the
 * first, 32 callers mostly the second)
 */
import { appendFileSync } from 'node:fs';
import { Harness } from '../../src/harness/harness.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';

const [auditPath, actionsPath, durability = 'causal', callers = '32'] = process.argv.slice(2);
if (!auditPath || !actionsPath) throw new Error('usage: crash-writer <audit.db> <actions.log>');

const compiled = compilePolicy([
  {
    file: 'crash.yaml',
    text: `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: crash }
tools: [{ server: bank, name: transfer, risk: high, effects: [write] }]
rules: [{ id: all, effect: allow, reason: everything runs }]`,
  },
]);
if (!compiled.ok) throw new Error('policy');
const harness = new Harness({
  policy: { current: compiled.policy },
  audit: new SqliteAuditLog({
    path: auditPath,
    durability: durability === 'process' || durability === 'full' ? durability : 'causal',
    inlineMaxBatch: 1,
  }),
  maxSessionHistory: 10_000_000,
});

let calls = 0;
async function caller(id: number): Promise<void> {
  for (;;) {
    await harness.call(
      {
        principal: { agentId: 'agent' },
        sessionId: `s${id}`,
        tool: { server: 'bank', name: 'transfer' },
        args: { n: calls },
      },
      async (_args, { decisionId }) => {
        // The action: synchronous, so it is in the file (the OS page cache survives a killed process)
        // the moment the tool has run.
        appendFileSync(actionsPath as string, `${decisionId}\n`);
        return 'done';
      },
    );
    if (++calls === 500) process.stdout.write('ready\n');
  }
}

for (let index = 0; index < Number(callers); index++) void caller(index);
