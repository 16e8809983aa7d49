/**
 * @module test/approval-expiry.test
 * A held call whose approver never answers must expire and be recorded even when nothing else keeps
 * the process alive (regression: an unref'd expiry timer let Node exit mid-wait, losing the outcome).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

const SCRIPT = `
import { Harness } from './dist/harness/harness.js';
import { compilePolicy } from './dist/policy/compile-policy.js';
import { SqliteAuditLog } from './dist/store/sqlite/sqlite-audit-log.js';
const text = \`apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held }
tools: [{ server: s, name: t, risk: high, effects: [write] }]
rules: [{ id: held, effect: approve, reason: a human decides }]
\`;
const compiled = compilePolicy([{ file: 'inline', text }]);
const audit = new SqliteAuditLog({ path: ':memory:' });
const harness = new Harness({
  policy: { current: compiled.policy },
  audit,
  approvals: (_request, signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
  approvalTimeoutMs: 100,
});
const result = await harness.call({ principal: { agentId: 'a' }, tool: { server: 's', name: 't' } }, async () => 'ran');
const kinds = [];
for await (const record of audit.records()) kinds.push(JSON.parse(record.body).outcome ?? 'intent');
console.log(JSON.stringify({ outcome: result.outcome, kinds }));
`;

describe('approval expiry', () => {
  it('keeps the process alive until a held call expires, and records the expiry', () => {
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ outcome: 'expired', kinds: ['intent', 'expired'] });
  });
});
