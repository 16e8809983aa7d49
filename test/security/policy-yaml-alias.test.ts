/**
 * @module test/security/policy-yaml-alias.test
 * Found by the policy-document fuzzer (test/fuzz/policy-documents.fuzz.ts): a policy whose YAML uses an
 * alias without its anchor (`*a`), or more aliases than the loader allows (an alias bomb), made
 * `compilePolicy` throw instead of reporting a located problem. Through hot reload the throw happens
 * in a timer, so saving such a file (an editor's half-written state is enough) took down a running
 * gateway; `reins policy check` printed the error without a location. Now both are policy problems at
 * file:line:column, and a running watcher keeps the policy in force.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PolicyWatcher } from '../../src/loader/policy-watcher.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { formatProblem } from '../../src/policy/policy-problem.js';

const ROOT = resolve(import.meta.dirname, '../..');

const VALID = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: aliases }
tools:
  - { server: crm, name: "db.select", risk: low, effects: [read] }
rules:
  - { id: read, effect: allow, reason: reading is fine }
`;
/** An alias whose anchor does not exist, on line 8. */
const UNRESOLVED = `${VALID}  - { id: again, effect: allow, tool: *missing, reason: typo }\n`;
/** 10 x 10 x 10 aliases: past the loader's alias limit. */
const BOMB = `${VALID}x0: &a [1, 2]
x1: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
x2: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
x3: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
`;

function problemsOf(text: string): string[] {
  const result = compilePolicy([{ file: 'aliases.yaml', text }]);
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.problems.map(formatProblem);
}

describe('YAML aliases in policy documents', () => {
  it('reports an alias without an anchor at its location instead of throwing', () => {
    expect(problemsOf('*a')).toEqual([expect.stringMatching(/^aliases\.yaml:1:1: .*alias/i)]);
    expect(problemsOf(UNRESOLVED)).toEqual([
      expect.stringMatching(/^aliases\.yaml:8:\d+: .*alias.*missing/i),
    ]);
  });

  it('reports an alias bomb as a located problem instead of throwing', () => {
    expect(problemsOf(BOMB)).toEqual([expect.stringMatching(/^aliases\.yaml:\d+:\d+: .*alias/i)]);
  });

  it('keeps the policy in force when hot reload meets such a file', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-alias-')), 'policy.yaml');
    writeFileSync(path, VALID);
    const watcher = new PolicyWatcher({ path });
    const hash = watcher.current.hash;
    writeFileSync(path, UNRESOLVED);
    const event = watcher.reload();
    expect(event).toMatchObject({ kind: 'policy-rejected', keptHash: hash });
    expect(watcher.current.hash).toBe(hash);
  });

  it('reins policy check names the file, line and column', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'reins-alias-')), 'policy.yaml');
    writeFileSync(path, UNRESOLVED);
    const result = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), 'policy', 'check', path], {
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(`${path}:8:`);
  });
});
