/**
 * @module test/support/approval-holder-process
 * The process that holds calls, for bench/approval-delay.ts:
 *   node approval-holder-process.js <sqlite-path | postgres-url> <schema> <count>
 * Runs a harness whose every call is held for approval on the given store, one call at a time. For
 * each it prints `held <decision id>` once the request is stored, then `done <decision id> <epoch ms>`
 * when the call has resumed and run. Exits non-zero on any failure.
 */
import { createInterface } from 'node:readline';
import { durableApprovals } from '../../src/harness/durable-approvals.js';
import { Harness } from '../../src/harness/harness.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { PostgresAuditLog } from '../../src/store/postgres/postgres-audit-log.js';
import { PostgresOversightStore } from '../../src/store/postgres/postgres-oversight-store.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { SqliteOversightStore } from '../../src/store/sqlite/sqlite-oversight-store.js';

const [target, schema, countText] = process.argv.slice(2);
if (target === undefined || schema === undefined) throw new Error('usage: <store> <schema> <count>');
const count = Number(countText ?? 10);
const postgres = target.startsWith('postgres');

const compiled = compilePolicy([
  {
    file: 'held.yaml',
    text: `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held }
tools: [{ server: bank, name: pay, risk: high, effects: [external] }]
rules: [{ id: held, effect: approve, tool: { name: pay }, reason: every payment is reviewed }]
`,
  },
]);
if (!compiled.ok) throw new Error('policy did not compile');
const audit = postgres
  ? await PostgresAuditLog.open({ connectionString: target, schema })
  : new SqliteAuditLog({ path: target });
const stores = postgres
  ? await PostgresOversightStore.open({ connectionString: target, schema })
  : new SqliteOversightStore({ path: target });
const harness = new Harness({
  policy: { current: compiled.policy },
  audit,
  approvals: durableApprovals(stores.approvals, {
    onCreated: (record) => process.stdout.write(`held ${record.id}\n`),
  }),
});
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
for (let index = 0; index < count; index++) {
  const result = await harness.call(
    {
      principal: { agentId: 'bench', roles: [], delegatedBy: [] },
      sessionId: 'bench',
      tool: { server: 'bank', name: 'pay' },
      args: { amount: index },
    },
    async () => 'paid',
  );
  const at = performance.timeOrigin + performance.now();
  if (result.status !== 'ok') throw new Error(`call ${index} was not released: ${JSON.stringify(result)}`);
  process.stdout.write(`done ${result.decisionId} ${at}\n`);
  // wait for the driver before the next call, so each measurement starts from an idle process
  await lines.next();
}
input.close();
await stores.close();
await audit.close();
