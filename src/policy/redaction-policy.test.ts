/**
 * @module policy/redaction-policy.test
 * The `redaction:` and `memory:` sections: defaults, per-tool changes, the memory guard's precedence,
 * and located problems for unknown detectors and repeated sections.
 */
import { describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import { compilePolicy } from './compile-policy.js';

const KEY = 'AKIAIOSFODNN7EXAMPLE';
const HEAD = 'apiVersion: reins.dev/v1\nkind: Policy\n';

describe('redaction section', () => {
  it('defaults to redacting secrets in results and blocking them in arguments, leaving personal data', () => {
    const policy = policyFrom('redaction: {}');
    const redaction = policy.redaction;
    expect(redaction).toBeDefined();
    const tool = { server: 'crm', name: 'db.select' };
    expect(redaction?.redactOutput(tool, undefined, `${KEY} bob@example.com`).value).toBe(
      '[REDACTED:aws_access_key] bob@example.com',
    );
    expect(redaction?.screenInput(tool, undefined, { k: KEY, to: 'bob@example.com' }).action).toBe('block');
    expect(redaction?.screenInput(tool, undefined, { to: 'bob@example.com' }).action).toBe('allow');
  });

  it('lets a detector id override its class, and applies tool changes in order', () => {
    const policy = policyFrom(`
redaction:
  detectors: [aws_access_key, email]
  outputs: { pii: redact, email: allow }
  tools:
    - tool: { server: web }
      outputs: { email: redact }
`);
    const redaction = policy.redaction;
    const crm = { server: 'crm', name: 'db.select' };
    const web = { server: 'web', name: 'fetch' };
    expect(redaction?.redactOutput(crm, undefined, 'bob@example.com 4111111111111111').value).toBe(
      'bob@example.com 4111111111111111', // payment_card is not among the chosen detectors
    );
    expect(redaction?.redactOutput(web, undefined, 'bob@example.com').value).toBe('[REDACTED:email]');
  });

  it('the memory guard redacts (or holds) secrets written to memory servers whatever the tool changes say', () => {
    const policy = policyFrom(`
redaction:
  inputs: { secret: allow }
memory:
  servers: memory
  secrets: hold
`);
    const redaction = policy.redaction;
    const memory = { server: 'memory', name: 'add_observations' };
    expect(redaction?.screenInput(memory, undefined, { note: KEY }).action).toBe('hold');
    expect(redaction?.screenInput({ server: 'crm', name: 'x' }, undefined, { note: KEY }).action).toBe(
      'allow',
    );
    expect(redaction?.isMemoryServer('memory')).toBe(true);
    const memoryOnly = policyFrom('memory: { servers: [mem*] }');
    expect(
      memoryOnly.redaction?.screenInput({ server: 'mem1', name: 'x' }, undefined, { n: KEY }).action,
    ).toBe('redact');
    expect(memoryOnly.redaction?.redactOutput({ server: 'crm', name: 'x' }, undefined, KEY).value).toBe(KEY);
  });

  it('reports unknown detectors and classes where they are written', () => {
    const result = compilePolicy([
      {
        file: 'p.yaml',
        text: `${HEAD}metadata: { name: p }\nredaction:\n  detectors: [aws_access_key, aws_key]\n  inputs: { secrets: block }\n`,
      },
    ]);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((problem) => [problem.line, problem.message.split(':')[0]])).toEqual([
      [5, 'unknown detector or class `aws_key`'],
      [6, 'unknown detector or class `secrets`'],
    ]);
  });

  it('allows one redaction section per policy set', () => {
    const result = compilePolicy([
      { file: 'a.yaml', text: `${HEAD}metadata: { name: a }\nredaction: {}\n` },
      { file: 'b.yaml', text: `${HEAD}metadata: { name: b }\nredaction: {}\n` },
    ]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems[0]?.message).toMatch(/`redaction` is already set at a.yaml:4/);
  });
});
