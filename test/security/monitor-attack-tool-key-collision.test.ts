/**
 * @module test/security/monitor-attack-tool-key-collision
 * Fixed: the monitor memoises matches by server and name joined with a NUL, never by `server/name`.
 *
 * Attack: blind the monitor for a tool by poisoning its match memo. `CompiledMonitor.matchesOf` caches
 * which rules count a tool under the key `server/name`, but server and tool names may themselves hold
 * `/` (ToolRef only asks for a non-empty string; the policy's own plan cache uses `\0` for exactly
 * this reason). One call of a made-up tool `{server: "crm/contacts", name: "export"}` — denied as
 * unknown, but still judged by the monitor — stores "no rule counts `crm/contacts/export`"; from then
 * on the real `{server: "crm", name: "contacts/export"}` is counted by no rule, for every agent in the
 * process (and in the baselines learned with the same monitor).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PreparedPolicy } from '../../src/policy/prepared-policy.js';
import { policyFrom } from '../support/policy-fixtures.js';
import { ok, World } from './monitor-attack-support.js';

const POLICY = `
rules:
  - { id: everything, effect: allow, reason: the monitor is what this test is about }
monitor:
  rules:
    - id: bulk-export
      signal: rate
      tool: { effects: [read] }
      window: 1m
      above: 3
      action: pause
      reason: a bulk export
`;
const CATALOGUE = `
tools:
  - { server: crm, name: contacts/export, risk: low, effects: [read] }
`;
/** A fresh policy per test: the memo under attack lives in the compiled monitor. */
const freshPolicy = (): { current: PreparedPolicy } => ({
  current: policyFrom(POLICY, { catalogue: CATALOGUE }),
});

let world: World;
beforeEach(() => {
  world = new World();
});
afterEach(async () => {
  await world.close();
});

describe('the monitor’s tool key', () => {
  it('(control) without the decoy the fourth export is paused', async () => {
    const a = await world.start(freshPolicy());
    let ran = 0;
    for (let n = 0; n < 20; n++) {
      world.now += 1_000;
      const result = await a.harness.call(
        {
          principal: { agentId: 'exporter' },
          sessionId: 's0',
          tool: { server: 'crm', name: 'contacts/export' },
          args: { page: n },
        },
        ok,
      );
      if (result.status === 'ok') ran++;
    }
    expect(ran).toBe(3);
  });

  it('cannot be confused by a tool whose server/name joins to the same string', async () => {
    const a = await world.start(freshPolicy());
    // a decoy, from any agent: unknown, denied, but judged by the monitor (and remembered)
    const decoy = await a.harness.call(
      {
        principal: { agentId: 'someone-else' },
        sessionId: 'decoy',
        tool: { server: 'crm/contacts', name: 'export' },
        args: {},
      },
      ok,
    );
    expect(decoy.status).toBe('denied');

    let ran = 0;
    for (let n = 0; n < 20; n++) {
      world.now += 1_000;
      const result = await a.harness.call(
        {
          principal: { agentId: 'exporter' },
          sessionId: 's1',
          tool: { server: 'crm', name: 'contacts/export' },
          args: { page: n },
        },
        ok,
      );
      if (result.status === 'ok') ran++;
    }
    // `above: 3` in a minute: the fourth export is paused
    expect(ran, `${ran} of 20 exports ran after the decoy`).toBe(3);
  });
});
