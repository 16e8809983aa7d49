/**
 * @module test/fuzz/policy-documents.fuzz
 * Property (e), policy documents: any text given as a policy — random bytes, YAML-shaped junk, or a
 * valid policy with random values put in random places, unknown fields and random CEL conditions —
 * either compiles or is rejected with `file:line:column` problems; compiling never throws. A policy
 * that compiles decides random calls without throwing, and every decision is one of the three
 * effects (a condition that fails at run time is a deny, never an exception).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { formatProblem } from '../../src/policy/policy-problem.js';
import { input } from '../support/policy-fixtures.js';
import { expectClearMessage, toolArguments } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

/** A valid policy using most of the language: the starting point for mutations. */
const BASE = {
  apiVersion: 'reins.dev/v1',
  kind: 'Policy',
  metadata: { name: 'fuzz', description: 'mutated by the fuzzer' },
  mode: 'enforce',
  tools: [
    { server: 'crm', name: 'db.select', risk: 'low', effects: ['read'] },
    { server: 'crm', name: 'db.execute', risk: 'high', effects: ['write'] },
    { server: 'web', name: '*', risk: 'medium', effects: ['read'], untrustedOutput: true },
  ],
  rules: [
    {
      id: 'read-tables',
      effect: 'allow',
      principal: { agents: 'support-*', roles: ['reader'] },
      tool: { server: 'crm', name: 'db.select' },
      when: 'args.table in ["customers", "orders"]',
      reason: 'reads three tables',
    },
    {
      id: 'big-writes',
      effect: 'approve',
      tool: { effects: 'write' },
      when: 'has(args.rows) && args.rows > 100',
      reason: 'big writes need a human',
      approval: { approvers: 'dba', quorum: 2, expires: '30m' },
    },
  ],
  sequences: [
    {
      id: 'write-after-read',
      tool: { name: 'db.execute' },
      requires: { tool: { name: 'db.select' }, within: '1h' },
      reason: 'read first',
    },
  ],
  limits: [
    {
      id: 'per-hour',
      tool: { server: 'web' },
      per: ['session'],
      window: '1h',
      max: 5,
      reason: 'five an hour',
    },
  ],
};

/** CEL-shaped text: identifiers, operators, literals and brackets in random order. */
const celText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        'args',
        'principal',
        'tool',
        'session',
        'context',
        'now',
        'prior',
        'has',
        'size',
        'int',
      ),
      fc.constantFrom(
        '.',
        '(',
        ')',
        '[',
        ']',
        '{',
        '}',
        ',',
        ':',
        '?',
        '!',
        '&&',
        '||',
        '==',
        '<',
        '+',
        ' in ',
      ),
      fc.constantFrom(
        '.table',
        '.amount',
        '.agentId',
        '.roles',
        '.labels',
        '.startsWith',
        '.matches',
        '.getHours',
      ),
      fc.constantFrom(
        '"x"',
        "'y'",
        '1',
        '1.5',
        '-9223372036854775808',
        'true',
        'null',
        'b"\\xff"',
        '"\\u0000"',
      ),
      fc.string({ maxLength: 5 }),
    ),
    { maxLength: 30 },
  )
  .map((tokens) => tokens.join(''));

/** Conditions from a small grammar: often well-typed, so that compiled policies get evaluated. */
const operand = fc.constantFrom(
  'args.table',
  'args.amount',
  'args[""]',
  'args.__proto__',
  'principal.agentId',
  'principal.roles',
  'size(args)',
  'tool.name',
  'session.callCount',
  'context.x',
  '1',
  '2.5',
  '"x"',
  '["a", 1]',
  'null',
  'has(args.table)',
  'now.getHours("Europe/Berlin")',
  'int(args.amount)',
  'args.amount / 0',
  'args.table.matches("^(a+)+$")',
);
const condition: fc.Arbitrary<string> = fc
  .array(fc.tuple(operand, fc.constantFrom('==', '!=', '<', '>=', ' in ', '&&', '||', '+')), {
    minLength: 1,
    maxLength: 3,
  })
  .chain((pairs) => operand.map((last) => `${pairs.map(([left, op]) => `${left} ${op} `).join('')}${last}`));

type Path = (string | number)[];

/** One change to the base policy: a value replaced, a field removed, an unknown field added. */
const mutation = fc.record({
  path: fc.constantFrom<Path[]>(
    [],
    ['apiVersion'],
    ['kind'],
    ['mode'],
    ['metadata'],
    ['tools'],
    ['tools', 0],
    ['tools', 0, 'name'],
    ['tools', 1, 'risk'],
    ['tools', 2, 'effects'],
    ['rules'],
    ['rules', 0],
    ['rules', 0, 'id'],
    ['rules', 0, 'effect'],
    ['rules', 0, 'principal'],
    ['rules', 0, 'principal', 'agents'],
    ['rules', 0, 'tool', 'name'],
    ['rules', 0, 'when'],
    ['rules', 1, 'approval'],
    ['rules', 1, 'approval', 'quorum'],
    ['rules', 1, 'approval', 'expires'],
    ['sequences', 0, 'requires'],
    ['sequences', 0, 'requires', 'within'],
    ['limits', 0, 'per'],
    ['limits', 0, 'window'],
    ['limits', 0, 'max'],
  ),
  action: fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'set' as const, value })),
    celText.map((value) => ({ kind: 'set' as const, value })),
    fc.constant({ kind: 'delete' as const }),
    fc
      .tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([key, value]) => ({ kind: 'add' as const, key, value })),
  ),
});

function mutate(document: unknown, path: Path, action: MutationAction): unknown {
  if (path.length === 0) {
    if (action.kind === 'set') return action.value;
    if (action.kind === 'add' && typeof document === 'object' && document !== null)
      return { ...document, [action.key]: action.value };
    return document;
  }
  if (typeof document !== 'object' || document === null) return document;
  const [head, ...rest] = path as [string | number, ...Path];
  if (Array.isArray(document)) {
    const copy = [...document];
    if (rest.length === 0 && action.kind === 'delete') copy.splice(Number(head), 1);
    else copy[Number(head)] = mutate(copy[Number(head)], rest, action);
    return copy;
  }
  const copy: Record<string | number, unknown> = { ...document };
  if (rest.length === 0 && action.kind === 'delete') Reflect.deleteProperty(copy, head);
  else copy[head] = mutate(copy[head], rest, action);
  return copy;
}
type MutationAction =
  | { kind: 'set'; value: unknown }
  | { kind: 'delete' }
  | { kind: 'add'; key: string; value: unknown };

/** YAML-shaped junk: keys, indentation, anchors, aliases, tags, flow brackets, comments. */
const yamlJunk: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.nat({ max: 6 }),
      fc.array(
        fc.oneof(
          fc.constantFrom(
            'apiVersion:',
            'kind: Policy',
            'rules:',
            'tools:',
            '- ',
            'id:',
            'when:',
            'effect: allow',
          ),
          fc.constantFrom(
            '&a ',
            '*a',
            '<<: *a',
            '!!str ',
            '!!binary ',
            '? ',
            '{',
            '}',
            '[',
            ']',
            '"',
            "'",
            '|',
            '>',
            '#',
          ),
          fc.constantFrom('---', '...', '%YAML 1.2', '\t', '\r', '\u0000', '\uFEFF', '\uD800'),
          fc.string({ maxLength: 8 }),
        ),
        { maxLength: 6 },
      ),
    ),
    { maxLength: 25 },
  )
  .map((lines) => lines.map(([indent, parts]) => `${' '.repeat(indent)}${parts.join('')}`).join('\n'));

const policyText: fc.Arbitrary<string> = fc.oneof(
  // the base policy with random conditions: most of these compile, and then decide random calls
  fc.tuple(condition, condition).map(([read, write]) =>
    stringify(
      mutate(mutate(BASE, ['rules', 0, 'when'], { kind: 'set', value: read }), ['rules', 1, 'when'], {
        kind: 'set',
        value: write,
      }),
    ),
  ),
  fc.string({ unit: 'binary', maxLength: 400 }),
  yamlJunk,
  fc
    .array(mutation, { minLength: 1, maxLength: 3 })
    .map((mutations) =>
      stringify(
        mutations.reduce<unknown>((document, { path, action }) => mutate(document, path, action), BASE),
      ),
    ),
);

const decisionInput = fc.record({
  agentId: fc.constantFrom('support-bot', 'support-1', 'other'),
  roles: fc.subarray(['reader', 'dba']),
  server: fc.constantFrom('crm', 'web', 'x'),
  tool: fc.constantFrom('db.select', 'db.execute', 'search'),
  args: toolArguments,
});

describe('fuzz: policy documents', () => {
  it('the unmutated base policy compiles (mutations start from something valid)', () => {
    const result = compilePolicy([{ file: 'fuzz.yaml', text: stringify(BASE) }]);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });

  it(
    'compiles or reports located problems, never throws; compiled policies decide without throwing',
    async () => {
      let compiled = 0;
      await fuzz(
        'policy documents',
        400,
        fc.tuple(policyText, fc.array(decisionInput, { maxLength: 3 })),
        ([text, calls]) => {
          const result = compilePolicy([{ file: 'fuzz.yaml', text }]);
          const lines = text.split(/\r\n|\r|\n/).length;
          if (!result.ok) {
            expect(result.problems.length).toBeGreaterThan(0);
            for (const problem of result.problems) {
              const where = formatProblem(problem);
              expect(problem.file, where).toBe('fuzz.yaml');
              expect(problem.line, where).toBeGreaterThanOrEqual(1);
              expect(problem.line, where).toBeLessThanOrEqual(lines + 1);
              expect(problem.column, where).toBeGreaterThanOrEqual(1);
              expectClearMessage(problem.message, where);
            }
            return;
          }
          compiled++;
          for (const call of calls) {
            const decision = result.policy.evaluate(input(call));
            expect(['allow', 'deny', 'approve']).toContain(decision.effect);
            expect(decision.reasons.length, JSON.stringify(decision)).toBeGreaterThan(0);
          }
        },
      );
      console.log(`[fuzz] policy documents that compiled: ${compiled}`);
    },
    timeoutFor(),
  );
});
