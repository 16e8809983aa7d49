/**
 * @module policy/reversal.test
 * A catalogue entry's `reversal`, compiled: load-time problems located like every other policy
 * problem, evaluation with errors as values (captures, acceptance, exactness, compensation steps,
 * resources), which reversal a tool gets (its own, else a built-in profile), and the rollback section
 * of several documents combined.
 */
import { describe, expect, it } from 'vitest';
import { compilePolicy } from './compile-policy.js';
import { formatProblem } from './policy-problem.js';
import type { PreparedPolicy } from './prepared-policy.js';
import { type CompiledReversal, type ReversalCall, staticFacts } from './reversal.js';

const HEADER = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: test }
`;

function compile(...texts: string[]): PreparedPolicy {
  const result = compilePolicy(texts.map((text, index) => ({ file: `p${index}.yaml`, text: HEADER + text })));
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.policy;
}

function problemsOf(text: string): string[] {
  const result = compilePolicy([{ file: 'p.yaml', text: HEADER + text }]);
  return result.ok ? [] : result.problems.map(formatProblem);
}

function reversalOf(policy: PreparedPolicy, server: string, name: string): CompiledReversal {
  const reversal = policy.reversalOf({ server, name });
  if (reversal === undefined) throw new Error(`no reversal for ${server}/${name}`);
  return reversal;
}

const CALL: ReversalCall = {
  decisionId: 'd-1',
  sessionId: 's-1',
  server: 'files',
  name: 'write',
  args: { path: 'docs/a.txt', size: 3 },
};

/** A write that captures the file first and writes it back, or removes what it created. */
const WRITE = `tools:
  - server: files
    name: write
    risk: medium
    effects: [write]
    reversal:
      capture:
        - name: before
          tool: read
          args: { path: args.path, limit: "10" }
          accept: 'capture.ok || capture.error.contains("ENOENT")'
      compensate:
        - tool: write
          when: captured.before.ok
          args: { path: args.path, content: captured.before.result.text, mode: "420" }
        - tool: remove
          when: '!captured.before.ok'
          args: { path: args.path, trash: 'dirname(args.path) + "/.trash/" + call.decisionId' }
      exact: '!captured.before.ok || captured.before.result.text != "binary"'
      inexact: binary content cannot be written back
      resources: '[args.path]'
      idempotent: true
  - { server: files, name: send, risk: high, effects: [external], reversal: { external: mail cannot be recalled } }
  - { server: files, name: drop, risk: high, effects: [irreversible], reversal: { irreversible: gone for good } }
  - { server: files, name: read, risk: low, effects: [read] }
`;

describe('compiling a reversal', () => {
  it('reports CEL problems at the line and column of the expression, naming where it stands', () => {
    const text = `tools:
  - server: files
    name: write
    risk: medium
    effects: [write]
    reversal:
      capture:
        - { name: before, tool: read, args: { path: result.path } }
      compensate:
        - tool: write
          when: 'args.path.size()'
          args: { path: 'args.path +', content: captured.before.result }
      exact: captured.before.ok
      resources: args.path.size()
`;
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^p\.yaml:11:\d+: `tools\.0\.reversal\.capture\.0\.args\.path`: Unknown variable: result/,
      ),
      expect.stringMatching(/^p\.yaml:15:\d+: `tools\.0\.reversal\.compensate\.0\.args\.path`: /),
      expect.stringMatching(
        /^p\.yaml:14:\d+: `tools\.0\.reversal\.compensate\.0\.when`: expression has type `int`, expected a bool/,
      ),
      expect.stringMatching(
        /^p\.yaml:17:\d+: `tools\.0\.reversal\.resources`: expression has type `int`, expected a list of strings/,
      ),
    ]);
  });

  it('reports a variable used where it is not known, and two captures of one name', () => {
    const text = `tools:
  - server: files
    name: write
    risk: medium
    effects: [write]
    reversal:
      capture:
        - { name: before, tool: read, args: {}, accept: 'result.ok' }
        - { name: before, tool: read, args: {} }
      compensate:
        - { tool: write, args: {} }
      exact: result.ok
`;
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^p\.yaml:11:\d+: `tools\.0\.reversal\.capture\.0\.accept`: Unknown variable: result/,
      ),
      expect.stringMatching(
        /^p\.yaml:12:\d+: `tools\.0\.reversal\.capture\.1\.name`: capture `before` is already named/,
      ),
      expect.stringMatching(/^p\.yaml:15:\d+: `tools\.0\.reversal\.exact`: Unknown variable: result/),
    ]);
  });

  it('reports a schema problem in a reversal at its field', () => {
    const text = `tools:
  - server: files
    name: write
    risk: medium
    effects: [write]
    reversal: { compensate: [] }
`;
    expect(problemsOf(text)[0]).toMatch(/^p\.yaml:9:\d+: `tools\.0\.reversal/);
  });
});

describe('evaluating a compensation', () => {
  const policy = compile(WRITE);
  const write = reversalOf(policy, 'files', 'write');
  const existed = { ok: true, result: { text: 'old' } };
  const absent = { ok: false, error: 'ENOENT: no such file' };

  it('says what it is and evaluates the capture reads, numbers as JSON numbers', () => {
    expect(write.kind).toBe('compensation');
    expect(write.capturesState).toBe(true);
    expect(write.idempotent).toBe(true);
    expect(write.captures(CALL)).toEqual({
      ok: true,
      value: [{ name: 'before', tool: 'read', args: { path: 'docs/a.txt', limit: 10 } }],
    });
  });

  it('accepts a capture by its `accept`, by `capture.ok` without one, and names an unknown one', () => {
    expect(write.accepts('before', existed, CALL)).toEqual({ ok: true, value: true });
    expect(write.accepts('before', absent, CALL)).toEqual({ ok: true, value: true });
    expect(write.accepts('before', { ok: false, error: 'EACCES: permission denied' }, CALL)).toEqual({
      ok: true,
      value: false,
    });
    expect(write.accepts('after', existed, CALL)).toEqual({
      ok: false,
      error: expect.stringContaining('no capture named `after`'),
    });
  });

  it('builds the steps whose `when` holds, from the call, the captures and the call ids', () => {
    expect(write.compensation(CALL, { content: [] }, { before: existed })).toEqual({
      ok: true,
      value: [{ tool: 'write', args: { path: 'docs/a.txt', content: 'old', mode: 420 } }],
    });
    expect(write.compensation(CALL, null, { before: absent })).toEqual({
      ok: true,
      value: [{ tool: 'remove', args: { path: 'docs/a.txt', trash: 'docs/.trash/d-1' } }],
    });
  });

  it('reports a failing expression as an error naming it, never as nothing to undo', () => {
    const missing = write.compensation(CALL, null, {});
    expect(missing).toEqual({ ok: false, error: expect.stringContaining('compensate.0.when') });
    const odd = write.compensation(CALL, null, { before: { ok: true, result: 'no text here' } });
    expect(odd).toEqual({ ok: false, error: expect.stringContaining('compensate.0.args.content') });
  });

  it('states the facts: reversible when exact, unavailable (with the reason) when not', () => {
    expect(write.facts(CALL, { before: existed })).toEqual({ kind: 'reversible', reversible: true });
    expect(write.facts(CALL, { before: { ok: true, result: { text: 'binary' } } })).toEqual({
      kind: 'unavailable',
      reversible: false,
      reason: 'binary content cannot be written back',
    });
    expect(write.facts(CALL, {})).toEqual({
      kind: 'unavailable',
      reversible: false,
      reason: expect.stringContaining('capture `before` was not taken'),
    });
    expect(write.facts(CALL, { before: { ok: false, error: 'EACCES: permission denied' } })).toEqual({
      kind: 'unavailable',
      reversible: false,
      reason: expect.stringContaining('capture `before` is not usable'),
    });
  });

  it('evaluates the resources to a list of strings, and refuses anything else', () => {
    expect(write.resources(CALL)).toEqual({ ok: true, value: ['docs/a.txt'] });
    const odd = compile(WRITE.replace(`resources: '[args.path]'`, 'resources: "[args.size]"'));
    expect(reversalOf(odd, 'files', 'write').resources(CALL)).toEqual({
      ok: false,
      error: expect.stringMatching(/resources.*list of strings/),
    });
  });

  it('gives irreversible and external tools their facts and nothing to capture or run', () => {
    const send = reversalOf(policy, 'files', 'send');
    expect(send.kind).toBe('external');
    expect(send.reason).toBe('mail cannot be recalled');
    expect(send.capturesState).toBe(false);
    expect(send.captures(CALL)).toEqual({ ok: true, value: [] });
    expect(send.facts(CALL, {})).toEqual({
      kind: 'external',
      reversible: false,
      reason: 'mail cannot be recalled',
    });
    expect(send.compensation(CALL, null, {})).toEqual({
      ok: false,
      error: expect.stringContaining('cannot be undone'),
    });
    expect(reversalOf(policy, 'files', 'drop').facts(CALL, {})).toEqual({
      kind: 'irreversible',
      reversible: false,
      reason: 'gone for good',
    });
  });

  it('static facts: undeclared without a reversal, reversible for a compensation', () => {
    expect(staticFacts(undefined)).toEqual({
      kind: 'undeclared',
      reversible: false,
      reason: 'the catalogue does not say how to undo this tool',
    });
    expect(policy.staticReversalFacts({ server: 'files', name: 'read' }).kind).toBe('undeclared');
    expect(policy.staticReversalFacts({ server: 'files', name: 'write' })).toEqual({
      kind: 'reversible',
      reversible: true,
    });
    expect(policy.staticReversalFacts({ server: 'files', name: 'drop' }).kind).toBe('irreversible');
    expect(policy.staticReversalFacts({ server: 'elsewhere', name: 'x' }).kind).toBe('undeclared');
  });
});

describe('which reversal a tool gets', () => {
  const PROFILED = `tools:
  - { server: "fs-*", name: "*", risk: medium, effects: [read, write] }
rollback:
  profiles:
    - { profile: server-filesystem, server: "fs-*" }
    - { profile: server-memory, server: memory }
  operators: [release-managers]
`;

  it('applies a built-in profile to the servers it names, and nothing to tools it does not cover', () => {
    const policy = compile(PROFILED);
    expect(policy.reversalOf({ server: 'fs-work', name: 'write_file' })?.kind).toBe('compensation');
    expect(policy.reversalOf({ server: 'fs-work', name: 'read_text_file' })).toBeUndefined();
    expect(policy.reversalOf({ server: 'memory', name: 'create_entities' })?.idempotent).toBe(true);
    expect(policy.reversalOf({ server: 'other', name: 'write_file' })).toBeUndefined();
  });

  it("prefers the catalogue entry's own reversal to a profile's", () => {
    const own = `tools:
  - { server: fs-work, name: write_file, risk: high, effects: [write], reversal: { irreversible: we do not trust it } }
`;
    const policy = compile(own + PROFILED.replace('tools:\n', ''));
    expect(policy.reversalOf({ server: 'fs-work', name: 'write_file' })?.kind).toBe('irreversible');
    expect(policy.reversalOf({ server: 'fs-work', name: 'move_file' })?.kind).toBe('compensation');
  });

  it('combines the rollback sections of several documents; admin may always roll back', () => {
    expect(compile(WRITE).rollbackOperators).toEqual(['admin']);
    const second = `rollback:
  operators: [admin, sre]
`;
    const policy = compile(PROFILED, second);
    expect(policy.rollbackOperators).toEqual(['admin', 'release-managers', 'sre']);
    expect(policy.reversalOf({ server: 'fs-a', name: 'edit_file' })?.kind).toBe('compensation');
    const third = `rollback:
  profiles:
    - { profile: server-memory, server: "fs-*" }
`;
    const clash = compilePolicy([
      { file: 'a.yaml', text: HEADER + PROFILED },
      { file: 'b.yaml', text: HEADER + third },
    ]);
    expect(clash.ok ? [] : clash.problems.map(formatProblem)).toEqual([
      expect.stringMatching(/^b\.yaml:6:\d+: .*server `fs-\*` already has a profile at a\.yaml:\d+/),
    ]);
  });
});
