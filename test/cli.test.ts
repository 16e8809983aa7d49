/**
 * @module test/cli.test
 * The `reins` binary as a user runs it (the built bin/reins.js in a child process): exit codes and
 * messages of policy check, policy test, decide and demo.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, 'test/fixtures/policies');

function reins(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('reins policy check', () => {
  it('accepts the example policies', () => {
    const result = reins('policy', 'check', 'examples/demo');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ok: examples\/demo: \d+ rules/);
  });

  it('rejects a CEL type error, naming file, line and column', () => {
    const result = reins('policy', 'check', join(FIXTURES, 'cel-type-error.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /cel-type-error\.yaml:10:\d+: `rules\.0\.when`: no such overload: int == string/,
    );
  });

  it('rejects an unknown field, naming file, line and column', () => {
    const result = reins('policy', 'check', join(FIXTURES, 'unknown-field.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown-field\.yaml:10:5: unknown field `condition` in `rules\.0`/);
  });

  it('rejects a YAML syntax error, naming file, line and column', () => {
    const result = reins('policy', 'check', join(FIXTURES, 'yaml-syntax-error.yaml'));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/yaml-syntax-error\.yaml:8:13: yaml syntax error: /);
  });

  it('reports a missing path as an error, not a pass', () => {
    const result = reins('policy', 'check', 'no/such/policy.yaml');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot read policy `no/such/policy.yaml`');
  });
});

describe('reins policy test', () => {
  it('runs the example policy tests', () => {
    const result = reins('policy', 'test', 'examples');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/PASS /);
    expect(result.stdout).toMatch(/\n\d+ passed, 0 failed\n$/);
  });

  it('fails with the reason when a decision differs from the expectation', () => {
    const directory = mkdtempSync(join(tmpdir(), 'reins-policy-test-'));
    writeFileSync(
      join(directory, 'wrong.test.yaml'),
      `apiVersion: reins.dev/v1
kind: PolicyTest
policy: ${join(ROOT, 'examples/demo/support-skill.yaml')}
tests:
  - name: a write is expected to pass (it does not)
    call:
      principal: { agentId: support-skill }
      tool: { server: crm, name: db.execute }
      args: { sql: "UPDATE customers SET billing_address = 'x'" }
    expect: allow
`,
    );
    const result = reins('policy', 'test', directory);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL');
    expect(result.stdout).toMatch(/expected allow, got deny/);
    expect(result.stdout).toMatch(/0 passed, 1 failed/);
  });
});

describe('reins decide', () => {
  it('prints the decision as JSON', () => {
    const call = JSON.stringify({
      principal: { agentId: 'support-skill' },
      tool: { server: 'crm', name: 'db.execute' },
      args: { sql: 'UPDATE customers SET billing_address = 1' },
    });
    const result = reins('decide', '--policy', 'examples/demo/support-skill.yaml', '--call', call);
    expect(result.code).toBe(0);
    const decision = JSON.parse(result.stdout) as { effect: string; reasons: string[]; policyHash: string };
    expect(decision.effect).toBe('deny');
    expect(decision.reasons.length).toBeGreaterThan(0);
    expect(decision.policyHash).toMatch(/^sha256:/);
  });

  it('explains a malformed call', () => {
    const result = reins('decide', '--policy', 'examples/demo/support-skill.yaml', '--call', '{"tool":{}}');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid call: `principal`');
    expect(
      reins('decide', '--policy', 'examples/demo/support-skill.yaml', '--call', '{oops').stderr,
    ).toContain('--call is not valid JSON');
  });
});

describe('reins demo', () => {
  it('runs both scenarios, exits 0 and shows denied and held decisions with reasons', () => {
    const directory = mkdtempSync(join(tmpdir(), 'reins-demo-'));
    const result = reins('demo', '--db', join(directory, 'audit.db'));
    // the only thing on standard error: on a fresh clone, where the checkpoint key was created (decision 0011)
    expect(result.stderr.replace(/^reins demo: created the checkpoints signing key .*\n/m, '')).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/DENY/);
    expect(result.stdout).toMatch(/HOLD/);
    const verify = reins('audit', 'verify', '--db', join(directory, 'audit.db'));
    expect(verify.code).toBe(0);
  });
});
