/**
 * @module test/fuzz/policy-reference.fuzz
 * Property (c): under a random policy, the gateway lets through exactly the calls that a plain reading
 * of docs/policy.md allows. Random policies are built from a small universe (two upstreams, a few
 * agents, roles, owners, awkward tool names, argument conditions); calls go through the real Gateway
 * and Harness to two real counting upstreams (test/support/counting-server.ts), and what ran is read
 * from the upstreams' own record, not from the gateway's answer. The reference evaluator below is
 * written from the documentation only and shares no code with src/policy.
 * Property (d) rides along: every refusal says why, without internals.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gateway } from '../../src/gateway/gateway.js';
import { Upstream } from '../../src/gateway/upstream.js';
import { Harness } from '../../src/harness/harness.js';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { formatProblem } from '../../src/policy/policy-problem.js';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { SqliteAuditLog } from '../../src/store/sqlite/sqlite-audit-log.js';
import { ExecutionLog } from '../support/counting-tools.js';
import { textOf as text } from '../support/tool-result-text.js';
import { expectClearMessage } from './arbitraries.js';
import { fuzz, timeoutFor } from './budget.js';

// ---- the universe random policies and calls are drawn from ----

const SERVERS = ['alpha', 'beta'] as const;
/** Names of tools the counting servers list, plus one they do not. */
const TOOLS = ['read', 'Read', 'write', 'db.select', 'db.execute', 'a__b', '..', '*', 'missing'] as const;
const LISTED = new Set<string>(TOOLS.filter((tool) => tool !== 'missing'));
const RISKS = ['low', 'medium', 'high', 'critical'] as const;
const EFFECTS = ['read', 'write', 'external', 'irreversible'] as const;
const ROLES = ['reader', 'writer', 'admin'] as const;
const OWNERS = ['ana@example.com', 'bob@example.com'] as const;

interface Agent {
  readonly agentId: string;
  readonly roles: readonly string[];
  readonly owner?: string;
}
const AGENTS: readonly Agent[] = [
  { agentId: 'ag-1', roles: ['reader'] },
  { agentId: 'ag-2', roles: ['reader', 'writer'], owner: 'ana@example.com' },
  { agentId: 'ag-10', roles: [], owner: 'bob@example.com' },
];

type Args = { table?: unknown; amount?: unknown; note?: unknown };
/** What a condition evaluates to: a boolean, or an error (a missing argument, a wrong type). */
type ConditionResult = boolean | 'error';

/** CEL conditions over the arguments, each with its meaning as the docs describe it. */
const CONDITIONS: readonly { cel: string; meaning: (args: Args, tool: string) => ConditionResult }[] = [
  {
    cel: 'args.table == "orders"',
    meaning: (args) => (args.table === undefined ? 'error' : args.table === 'orders'),
  },
  { cel: 'has(args.table) && args.table == "orders"', meaning: (args) => args.table === 'orders' },
  {
    cel: 'args.table in ["orders", "tickets"]',
    meaning: (args) =>
      args.table === undefined ? 'error' : args.table === 'orders' || args.table === 'tickets',
  },
  { cel: 'args.amount < 100', meaning: (args) => compare(args.amount, (amount) => amount < 100) },
  {
    cel: 'has(args.amount) && args.amount > 10',
    meaning: (args) => (args.amount === undefined ? false : compare(args.amount, (amount) => amount > 10)),
  },
  { cel: 'tool.name.startsWith("db.")', meaning: (_args, tool) => tool.startsWith('db.') },
  { cel: '"urgent" in args', meaning: () => false }, // `in` on a map tests keys: never generated
  { cel: 'args.note', meaning: (args) => (typeof args.note === 'boolean' ? args.note : 'error') },
];

/** A numeric comparison: an error unless the argument is a number (JSON numbers are doubles). */
function compare(value: unknown, test: (amount: number) => boolean): ConditionResult {
  return typeof value === 'number' ? test(value) : 'error';
}

// ---- random policies ----

interface CatalogueEntry {
  server: string;
  name: string;
  risk: (typeof RISKS)[number];
  effects: (typeof EFFECTS)[number][];
}
type Maybe<T> = T | undefined;
interface Rule {
  id: string;
  effect: 'allow' | 'deny' | 'approve';
  mode: Maybe<'shadow'>;
  principal: Maybe<{ agents: Maybe<string[]>; roles: Maybe<string[]>; owners: Maybe<string[]> }>;
  tool: Maybe<{
    server: Maybe<string[]>;
    name: Maybe<string[]>;
    risk: Maybe<string[]>;
    effects: Maybe<string[]>;
  }>;
  /** Index into CONDITIONS. */
  when: Maybe<number>;
}
interface RandomPolicy {
  shadowDocument: boolean;
  tools: CatalogueEntry[];
  rules: Rule[];
}

const some = <T>(values: readonly T[]) => fc.subarray([...values], { minLength: 1 });
const serverGlob = fc.constantFrom('alpha', 'beta', '*', 'a*', 'b?ta', 'ALPHA');
const nameGlob = fc.constantFrom(...TOOLS, '*', 'db.*', '?ead', 're*', '*e*', 'a_*', '.*');
const agentGlob = fc.constantFrom('ag-1', 'ag-2', 'ag-10', 'ag-*', 'ag-?', '*', 'AG-1', 'ag-1*');

const catalogueEntry: fc.Arbitrary<CatalogueEntry> = fc.record({
  server: serverGlob,
  name: nameGlob,
  risk: fc.constantFrom(...RISKS),
  effects: some(EFFECTS),
});

/** Present now and then (one time in `freq`): most rules leave most matchers out, as real ones do. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, freq = 3): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: freq - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

const rule: fc.Arbitrary<Omit<Rule, 'id'>> = fc.record({
  effect: fc.constantFrom('allow', 'allow', 'allow', 'deny', 'approve'),
  mode: sometimes(fc.constant('shadow' as const), 5),
  principal: sometimes(
    fc.record({
      agents: sometimes(fc.array(agentGlob, { minLength: 1, maxLength: 2 }), 2),
      roles: sometimes(some(ROLES), 2),
      owners: sometimes(some(OWNERS), 2),
    }),
    2,
  ),
  tool: sometimes(
    fc.record({
      server: sometimes(fc.array(serverGlob, { minLength: 1, maxLength: 2 }), 2),
      name: sometimes(fc.array(nameGlob, { minLength: 1, maxLength: 2 }), 2),
      risk: sometimes(some(RISKS), 2),
      effects: sometimes(some(EFFECTS), 2),
    }),
    2,
  ),
  when: sometimes(fc.nat({ max: CONDITIONS.length - 1 }), 2),
});

const randomPolicy: fc.Arbitrary<RandomPolicy> = fc.record({
  shadowDocument: fc.nat({ max: 9 }).map((value) => value === 0), // now and then a whole shadow document
  tools: fc
    .tuple(
      fc.uniqueArray(catalogueEntry, { maxLength: 4, selector: (entry) => `${entry.server}/${entry.name}` }),
      fc.option(
        catalogueEntry.map((entry) => ({ ...entry, server: '*', name: '*' })),
        { nil: undefined },
      ),
    )
    // often a catch-all last entry, so that most tools are known and the rules get to decide
    .map(([entries, last]) =>
      last && !entries.some((entry) => entry.server === '*' && entry.name === '*')
        ? [...entries, last]
        : entries,
    ),
  rules: fc
    .array(rule, { maxLength: 5 })
    .map((rules) => rules.map((body, index) => ({ id: `rule-${index}`, ...body }))),
});

function policyYaml(policy: RandomPolicy): string {
  const rules = policy.rules.map(({ when, ...body }) => ({
    ...body,
    reason: `${body.id} decided`,
    ...(when === undefined ? {} : { when: (CONDITIONS[when] as (typeof CONDITIONS)[number]).cel }),
  }));
  const document = {
    apiVersion: 'reins.dev/v1',
    kind: 'Policy',
    metadata: { name: 'fuzz' },
    ...(policy.shadowDocument ? { mode: 'shadow' } : {}),
    tools: policy.tools,
    rules,
  };
  return JSON.stringify(document, null, 2); // JSON is YAML
}

// ---- the reference evaluator: docs/policy.md, read literally ----

/** `*` any run of characters, `?` exactly one, everything else literal. */
function glob(pattern: string, name: string): boolean {
  const source = [...pattern]
    .map((char) =>
      char === '*' ? '[\\s\\S]*' : char === '?' ? '[\\s\\S]' : char.replace(/[\\^$.|+()[\]{}]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${source}$`).test(name);
}
const anyGlob = (patterns: readonly string[] | undefined, name: string) =>
  patterns === undefined || patterns.some((pattern) => glob(pattern, name));

type Verdict = 'allow' | 'deny' | 'approve';

function referenceVerdict(
  policy: RandomPolicy,
  agent: Agent,
  server: string,
  tool: string,
  args: Args,
): Verdict {
  // 1. the first catalogue entry that matches gives the facts; an unknown tool is denied
  const facts = policy.tools.find((entry) => glob(entry.server, server) && glob(entry.name, tool));
  if (facts === undefined) return 'deny';
  // 3. every applicable (non-shadow) rule whose principal, tool and condition match, matches
  const matched: Verdict[] = [];
  for (const rule of policy.rules) {
    if (policy.shadowDocument || rule.mode === 'shadow') continue; // shadow rules never enforce
    const who = rule.principal;
    if (who && !anyGlob(who.agents, agent.agentId)) continue;
    if (who?.roles && !who.roles.some((role) => agent.roles.includes(role))) continue;
    if (who?.owners && (agent.owner === undefined || !who.owners.includes(agent.owner))) continue;
    const what = rule.tool;
    if (what && (!anyGlob(what.server, server) || !anyGlob(what.name, tool))) continue;
    if (what?.risk && !what.risk.includes(facts.risk)) continue;
    if (what?.effects && !what.effects.some((effect) => (facts.effects as string[]).includes(effect)))
      continue;
    const condition =
      rule.when === undefined
        ? true
        : (CONDITIONS[rule.when] as (typeof CONDITIONS)[number]).meaning(args, tool);
    if (condition === 'error') return 'deny'; // 5. fail closed
    if (condition) matched.push(rule.effect);
  }
  // 4. any deny wins, then approve, then allow; nothing matching is a deny
  if (matched.includes('deny')) return 'deny';
  if (matched.includes('approve')) return 'approve';
  if (matched.includes('allow')) return 'allow';
  return 'deny';
}

// ---- the real thing: Gateway + Harness in front of two counting upstreams ----

const upstreams: Upstream[] = [];
let audit: SqliteAuditLog;
let harness: Harness;
let gateway: Gateway;
let log: ExecutionLog;
const policyHandle: { current: PreparedPolicy } = { current: undefined as unknown as PreparedPolicy };
let sessions = 0;

beforeAll(async () => {
  const directory = mkdtempSync(join(tmpdir(), 'reins-fuzz-reference-'));
  log = new ExecutionLog(join(directory, 'executions.jsonl'));
  const script = resolve(import.meta.dirname, '../support/counting-server.ts');
  for (const name of SERVERS) {
    const upstream = new Upstream(
      {
        name,
        stdio: { command: process.execPath, args: ['--import', 'tsx', script, log.file, name], env: {} },
      },
      { callTimeoutMs: 10_000 },
    );
    upstreams.push(upstream);
  }
  await Promise.all(upstreams.map((upstream) => upstream.connect()));
  audit = new SqliteAuditLog({ path: ':memory:' });
  policyHandle.current = compiled({ shadowDocument: false, tools: [], rules: [] });
  // no approval handler: a held call is refused (fail closed), so only `allow` ever runs
  harness = new Harness({ policy: policyHandle, audit });
  gateway = new Gateway({ upstreams, harness, policy: policyHandle });
}, 60_000);

afterAll(async () => {
  await Promise.all(upstreams.map((upstream) => upstream.close()));
  await audit?.close();
});

function compiled(policy: RandomPolicy): PreparedPolicy {
  const result = compilePolicy([{ file: 'fuzz.yaml', text: policyYaml(policy) }]);
  if (!result.ok)
    throw new Error(`generated policy does not compile:\n${result.problems.map(formatProblem).join('\n')}`);
  return result.policy;
}

/** A client for one agent in a fresh session (so that session history never carries over). */
async function connect(agent: Agent): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const principal = {
    agentId: agent.agentId,
    roles: [...agent.roles],
    delegatedBy: [],
    parentSessions: [],
    ...(agent.owner ? { owner: agent.owner } : {}),
  };
  await gateway.createServer({ principal, sessionId: `fuzz-${++sessions}` }).connect(serverSide);
  const client = new Client({ name: 'fuzz-reference', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const argsArbitrary: fc.Arbitrary<Args> = fc.record(
  {
    table: fc.constantFrom('orders', 'tickets', 'users'),
    amount: fc.oneof(
      fc.double({ min: -5, max: 200, noNaN: true }),
      fc.integer({ min: 0, max: 200 }),
      fc.constant('5'),
    ),
    note: fc.oneof(fc.boolean(), fc.constant('yes')),
  },
  { requiredKeys: [] },
);
const callArbitrary = fc.record({
  server: fc.constantFrom(...SERVERS, 'gamma'),
  tool: fc.constantFrom(...TOOLS),
  args: argsArbitrary,
});

describe('fuzz: the gateway lets through exactly what the policy allows', () => {
  it(
    'matches a reference evaluation of docs/policy.md for random policies and calls',
    async () => {
      const scenario = fc.record({
        policy: randomPolicy,
        agent: fc.constantFrom(...AGENTS),
        calls: fc.array(callArbitrary, { minLength: 1, maxLength: 6 }),
      });
      // how often each verdict came up: a run that only ever saw denials would prove little
      const seen: Record<Verdict, number> = { allow: 0, deny: 0, approve: 0 };
      await fuzz('policy reference (gateway + harness)', 150, scenario, async ({ policy, agent, calls }) => {
        policyHandle.current = compiled(policy);
        const client = await connect(agent);
        try {
          for (const call of calls) {
            const name = `${call.server}__${call.tool}`;
            const result = (await client.callTool({ name, arguments: call.args })) as CallToolResult;
            const ran = log.newSince();
            const exists = call.server !== 'gamma' && LISTED.has(call.tool);
            const expected = exists
              ? referenceVerdict(policy, agent, call.server, call.tool, call.args)
              : 'deny';
            seen[expected]++;
            const context = `${agent.agentId} calls ${name}(${JSON.stringify(call.args)}): reference says ${expected}, gateway answered ${JSON.stringify(text(result))}`;
            if (expected === 'allow') {
              // what the upstream can receive is the JSON of the arguments (JSON has no -0: it arrives as 0)
              const sent = JSON.parse(JSON.stringify(call.args)) as Args;
              expect(ran, context).toEqual([{ label: call.server, tool: call.tool, args: sent }]);
              expect(result.isError, context).toBeFalsy();
            } else {
              expect(ran, context).toEqual([]);
              expect(result.isError, context).toBe(true);
              expectClearMessage(text(result), context, [name]);
              expect(text(result), context).toMatch(/^(Reins refused this call: |unknown tool `)/);
              // a held call is refused here (no approver is configured), and says that it was held
              if (expected === 'approve') expect(text(result), context).toMatch(/approval required/);
              else expect(text(result), context).not.toMatch(/approval required/);
            }
          }
        } finally {
          await client.close();
        }
      });
      console.log(`[fuzz] policy reference verdicts: ${JSON.stringify(seen)}`);
      expect(seen.allow).toBeGreaterThan(0);
    },
    timeoutFor(),
  );
});
