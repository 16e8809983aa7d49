/**
 * @module harness/session-states.test
 * The session-state cache: what it returns is the log's (also what another writer appended since),
 * and what it keeps is bounded by sessions, by calls held, and by idle time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { policyFrom } from '../../test/support/policy-fixtures.js';
import type { CallIntentEvent } from '../spec/audit-event.js';
import { SqliteAuditLog } from '../store/sqlite/sqlite-audit-log.js';
import { Harness } from './harness.js';
import { SessionStates } from './session-states.js';

const POLICY = policyFrom(
  `
rules:
  - { id: all, effect: allow, reason: all }
sequences:
  - { id: lookup-first, tool: { name: pay }, requires: { tool: { name: lookup } }, reason: look it up first }
`,
  {
    catalogue: `
tools:
  - { server: bank, name: lookup, risk: low, effects: [read] }
  - { server: bank, name: pay, risk: high, effects: [write] }
`,
  },
);

const logs: SqliteAuditLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

async function logWithCalls(
  sessions: Record<string, number>,
): Promise<{ log: SqliteAuditLog; writer: Harness }> {
  const log = new SqliteAuditLog({ path: ':memory:' });
  logs.push(log);
  const writer = new Harness({ policy: { current: POLICY }, audit: log });
  for (const [sessionId, calls] of Object.entries(sessions))
    for (let index = 0; index < calls; index++)
      await writer.call(
        { principal: { agentId: 'a' }, sessionId, tool: { server: 'bank', name: 'lookup' }, args: { index } },
        async () => 'found',
      );
  return { log, writer };
}

describe('SessionStates', () => {
  it('reads a session from the log, and what was appended since, by whichever writer', async () => {
    const { log, writer } = await logWithCalls({ s1: 2 });
    const states = new SessionStates({ audit: log });
    const [first] = await states.read(POLICY, ['s1']);
    expect(first?.history.map((entry) => [entry.tool.name, entry.outcome])).toEqual([
      ['lookup', 'ok'],
      ['lookup', 'ok'],
    ]);
    await writer.call(
      { principal: { agentId: 'a' }, sessionId: 's1', tool: { server: 'bank', name: 'pay' }, args: {} },
      async () => 'paid',
    );
    const [again] = await states.read(POLICY, ['s1']);
    expect(again).toBe(first);
    expect(again?.history.map((entry) => entry.tool.name)).toEqual(['lookup', 'lookup', 'pay']);
    expect(again?.agentId).toBe('a');
  });

  it('keeps at most maxSessions sessions, least recently used leaving first', async () => {
    const { log } = await logWithCalls({ s1: 1, s2: 1, s3: 1 });
    const states = new SessionStates({ audit: log, maxSessions: 2 });
    await states.read(POLICY, ['s1']);
    await states.read(POLICY, ['s2']);
    await states.read(POLICY, ['s1']);
    await states.read(POLICY, ['s3']);
    expect(states.size).toBe(2);
    expect(states.peek(POLICY, ['s2'])).toBeUndefined();
    expect(states.peek(POLICY, ['s1'])).toBeDefined();
    // one that left is read again, whole
    expect((await states.read(POLICY, ['s2']))[0]?.history).toHaveLength(1);
  });

  it('keeps at most maxCachedCalls calls in memory, but always the session in use', async () => {
    const { log } = await logWithCalls({ s1: 5, s2: 5, big: 12 });
    const states = new SessionStates({ audit: log, maxCachedCalls: 8 });
    await states.read(POLICY, ['s1']);
    await states.read(POLICY, ['s2']);
    expect(states.size).toBe(1);
    await states.read(POLICY, ['big']);
    expect(states.size).toBe(1);
    expect(states.peek(POLICY, ['big'])?.[0]?.history).toHaveLength(12);
  });

  it('lets sessions idle for idleMs leave', async () => {
    const { log } = await logWithCalls({ s1: 1, s2: 1 });
    let now = 1_000_000;
    const states = new SessionStates({ audit: log, idleMs: 60_000, clock: () => now });
    await states.read(POLICY, ['s1']);
    now += 61_000;
    await states.read(POLICY, ['s2']);
    expect(states.size).toBe(1);
    expect(states.peek(POLICY, ['s1'])).toBeUndefined();
  });

  it('starts over when the policy changes (outputs are indexed as the policy says)', async () => {
    const { log } = await logWithCalls({ s1: 1 });
    const states = new SessionStates({ audit: log });
    const [first] = await states.read(POLICY, ['s1']);
    const other = policyFrom('rules:\n  - { id: all, effect: allow, reason: all }\n');
    const [second] = await states.read(other, ['s1']);
    expect(second).not.toBe(first);
    expect(states.peek(POLICY, ['s1'])).toBeUndefined();
  });

  it('applies a record of its own at once when it is the next in the log, and leaves the rest to the tail', async () => {
    const { log, writer } = await logWithCalls({ s1: 1 });
    const states = new SessionStates({ audit: log });
    const [projection] = await states.read(POLICY, ['s1']);
    const before = projection?.lastSeq as number;
    const intent = intentOf('s1', 'own-1');
    const { seq } = await log.append(intent);
    states.applyOwn(seq, intent);
    // applied without a read: the next after what the tail had read
    expect(projection?.lastSeq).toBe(seq);
    expect(seq).toBe(before + 1);
    // another writer's record lies between: the own record is left to the tail, which keeps log order
    await writer.call(
      { principal: { agentId: 'a' }, sessionId: 's1', tool: { server: 'bank', name: 'lookup' }, args: {} },
      async () => 'found',
    );
    const later = intentOf('s1', 'own-2');
    const second = await log.append(later);
    states.applyOwn(second.seq, later);
    expect(projection?.lastSeq).toBe(seq);
    const [read] = await states.read(POLICY, ['s1']);
    expect(read?.lastSeq).toBe(second.seq);
    expect(read?.history).toHaveLength(4);
  });
});

function intentOf(sessionId: string, decisionId: string): CallIntentEvent {
  return {
    v: 1,
    id: `${decisionId}/intent`,
    kind: 'call-intent',
    time: new Date().toISOString(),
    decisionId,
    sessionId,
    principal: { agentId: 'a', roles: [], delegatedBy: [], parentSessions: [] },
    tool: { server: 'bank', name: 'lookup' },
    links: [],
    args: {},
    decision: {
      effect: 'allow',
      matchedRules: ['all'],
      reasons: ['all'],
      policyHash: POLICY.hash,
      diagnostics: [],
    },
    decisionLatencyUs: 1,
  } as CallIntentEvent;
}
