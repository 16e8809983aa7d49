/**
 * @module test/security/provenance-attack-trace-cost.test
 * Attack (issue 18 review): what one `reins audit trace` (or any caller of inspect/provenance-trace)
 * costs on a log an attacker shaped. The walk is bounded in calls (200 steps, depth 24) and each call
 * lists at most 64 sources, but every `untrusted` source resolves its field pointer in the source
 * call's recorded output from scratch: a `#` in the pointer JSON.parses the output text again (up to
 * 1 MB), once per source, with no cache. An untrusted page the attacker serves as 1 MB of JSON with
 * many small elements, and calls whose argument values come from it (the injection asks the agent to
 * copy its list around), make the trace parse that megabyte up to 200 x 63 times.
 *
 * The records are crafted for the pure walk (as the harness would write them: the sources point into
 * `/content/0/text#/contacts/<k>` of one fetch), so the test measures the walk, not the store.
 *
 * Fixed: JSON held as text is parsed once per recorded output and place for the whole walk
 * (inspect/provenance-trace `parsedAt`); the test counts the parses of the page (no timing assert).
 *
 * Run: npx vitest run test/security/provenance-attack-trace-cost.test.ts
 */
import { describe, expect, it, vi } from 'vitest';
import { type RecordLookup, traceProvenance } from '../../src/inspect/provenance-trace.js';
import type { CallIntentEvent, CallOutcomeEvent } from '../../src/spec/audit-event.js';
import type { ArgumentSource } from '../../src/spec/provenance.js';

const SESSION = 's';
const CALLS = 200;
const UNTRUSTED_PER_CALL = 62;

function intent(
  decisionId: string,
  args: Record<string, unknown>,
  sources: ArgumentSource[],
): CallIntentEvent {
  return {
    v: 1,
    id: `${decisionId}/intent`,
    kind: 'call-intent',
    time: '2026-12-06T00:00:00.000Z',
    decisionId,
    sessionId: SESSION,
    principal: { agentId: 'assistant', roles: [], delegatedBy: [], parentSessions: [] },
    tool: { server: 'crm', name: 'note' },
    links: [],
    args,
    decision: { effect: 'allow', reasons: ['ok'], matchedRules: [], policyHash: 'x' },
    decisionLatencyUs: 1,
    provenance: { sources },
  } as unknown as CallIntentEvent;
}

describe('the cost of tracing a shaped log', () => {
  it('ATTACK: a trace within its step bound stays within seconds', async () => {
    // the attacker's page: ~1 MB of JSON, many small elements, with the addresses it plants
    const contacts = Array.from({ length: UNTRUSTED_PER_CALL }, (_, k) => `u${k}@evil.test`);
    const filler = Array.from({ length: 240_000 }, () => 1);
    const page = JSON.stringify({ contacts, filler });
    expect(page.length).toBeLessThan(1_000_000);
    const fetchIntent = intent('fetch', { url: 'https://attacker.example' }, [
      { arg: '/url', match: 'value', trust: 'none' },
    ]);
    const fetchOutcome = {
      v: 1,
      id: 'fetch/outcome',
      kind: 'call-outcome',
      time: '2026-12-06T00:00:01.000Z',
      decisionId: 'fetch',
      sessionId: SESSION,
      outcome: 'ok',
      result: { content: [{ type: 'text', text: page }] },
      latencyUs: 1,
    } as unknown as CallOutcomeEvent;

    const calls = new Map<string, CallIntentEvent>();
    for (let index = 0; index < CALLS; index++) {
      const sources: ArgumentSource[] = [];
      const args: Record<string, unknown> = { cc: contacts };
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (child >= CALLS) continue;
        args[`ref${child}`] = `ref-${child}`;
        sources.push({
          arg: `/ref${child}`,
          match: 'value',
          trust: 'trusted',
          from: `c${child}`,
          tool: 'crm/note',
          field: '/id',
        });
      }
      for (let k = 0; k < UNTRUSTED_PER_CALL; k++)
        sources.push({
          arg: `/cc/${k}`,
          match: 'value',
          trust: 'untrusted',
          from: 'fetch',
          tool: 'web/fetch',
          field: `/content/0/text#/contacts/${k}`,
        });
      calls.set(`c${index}`, intent(`c${index}`, args, sources));
    }
    const lookup: RecordLookup = async (_session, decisionId) => {
      if (decisionId === 'fetch') return { intent: fetchIntent, outcome: fetchOutcome };
      const found = calls.get(decisionId);
      return found === undefined ? {} : { intent: found };
    };

    // counted, not timed: how often the walk parses the attacker's megabyte
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const result = await traceProvenance('c0', lookup, { sessionId: SESSION });
      expect(result.ok).toBe(true);
      if (result.ok) expect(result.trace.steps).toBe(CALLS);
      const pageParses = parse.mock.calls.filter(
        ([text]) => typeof text === 'string' && text.length > 500_000,
      );
      expect(pageParses.length).toBeLessThanOrEqual(1);
    } finally {
      parse.mockRestore();
    }
  }, 600_000);
});
