/**
 * @module loader/policy-test-reversal.test
 * Policy tests exercise rules over reversibility: by default a call sees what the policy declares for
 * its tool (no reversal: `undeclared`; a compensation: `reversible`), and a step or a single-call case
 * may state what the enforcement point would find once it took the captures (`reversal: unavailable`
 * for a binary file that write_file cannot write back).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPolicyTestFile, type TestFileResult } from './policy-test-runner.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: reversibility }
tools:
  - { server: crm, name: db.execute, risk: high, effects: [write] }
  - { server: files, name: "*", risk: medium, effects: [read, write] }
rollback:
  profiles:
    - { profile: server-filesystem, server: files }
rules:
  - id: gate-what-cannot-be-undone
    effect: approve
    reason: an action that cannot be undone needs a human
    tool: { effects: [write, external, irreversible] }
    when: "!reversal.reversible"
  - { id: team, effect: allow, reason: the team may use its tools }
`;

const AGENT = 'principal: { agentId: dev }';

function run(cases: string): TestFileResult {
  const directory = mkdtempSync(join(tmpdir(), 'reins-policy-test-reversal-'));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  const file = join(directory, 'cases.test.yaml');
  writeFileSync(file, `apiVersion: reins.dev/v1\nkind: PolicyTest\npolicy: policy.yaml\ntests:\n${cases}`);
  return runPolicyTestFile(file);
}

function failuresOf(result: TestFileResult): string[] {
  if (result.problems.length > 0)
    return result.problems.map((problem) => `${problem.line}:${problem.column}: ${problem.message}`);
  return result.cases.flatMap((test) => test.failures.map((failure) => `${test.name}: ${failure}`));
}

describe('policy tests and reversibility', () => {
  it('hold a call to a tool with no compensation, and let a reversible one through', () => {
    const result = run(`
  - name: a database write cannot be undone
    call: { ${AGENT}, tool: { server: crm, name: db.execute }, args: { sql: "UPDATE x" } }
    expect: { effect: approve, decidedBy: [gate-what-cannot-be-undone] }
  - name: a file write can
    call: { ${AGENT}, tool: { server: files, name: write_file }, args: { path: a.txt, content: x } }
    expect: { effect: allow, decidedBy: [team] }
`);
    expect(failuresOf(result)).toEqual([]);
  });

  it('let a step or a single call state what the captures would show', () => {
    const result = run(`
  - name: a binary file cannot be written back
    call: { ${AGENT}, tool: { server: files, name: write_file }, args: { path: logo.png, content: x } }
    reversal: unavailable
    expect: { effect: approve, decidedBy: [gate-what-cannot-be-undone] }
  - name: steps each have their own
    steps:
      - call: { ${AGENT}, tool: { server: files, name: write_file }, args: { path: a.txt, content: x } }
        reversal: reversible
        expect: allow
      - call: { ${AGENT}, tool: { server: files, name: edit_file }, args: { path: b.bin, edits: [] } }
        reversal: unavailable
        expect: approve
`);
    expect(failuresOf(result)).toEqual([]);
  });

  it('refuse an unknown kind and a case-level reversal beside steps', () => {
    const result = run(`
  - name: odd
    call: { ${AGENT}, tool: { server: files, name: write_file }, args: { path: a.txt, content: x } }
    reversal: undoable
    expect: allow
  - name: mixed
    reversal: reversible
    steps:
      - { call: { ${AGENT}, tool: { server: crm, name: db.execute }, args: {} }, expect: approve }
`);
    const problems = failuresOf(result);
    expect(problems).toEqual([
      expect.stringMatching(/`tests\.0\.reversal`: .*reversible/),
      expect.stringMatching(/`tests\.1`: .*`reversal`.*on each step/),
    ]);
  });
});
