/**
 * Attack (issue 15 review): a session killed while its gateway is down (or while the call is served by
 * another replica that never opened the session) does not stop calls opened earlier. The harness reads
 * the kill from `this.sessions.get()` — this process's memory — and a restarted process (or another
 * replica) has the killed status only in SharedSessionRegistry's `known` map, which `get` ignores.
 *
 * Fixed: the harness reads the status every process has heard (`SessionRegistry.statusOf`, which a
 * shared registry answers from the store's change feed also for sessions it never opened) and the
 * agents' standing as it is now, for every call it answers for.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';
import { type SpawnedGateway, spawnGateway } from '../support/spawned-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-tools }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: pay, risk: high, effects: [write, external] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
  - { id: payments-need-a-human, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
`;

let remote: RemoteDeployment;
let restarted: SpawnedGateway | undefined;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
}, 60_000);

afterAll(async () => {
  await restarted?.stop();
  await remote?.close();
});

describe('a session killed while the gateway is down', () => {
  it('still takes the outcome of a ready call and releases an approved one after the restart', async () => {
    const agent = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 1 });
    const running = await agent.open({ tool: 'app/lookup', args: { customer: 'acme' } });
    const held = await agent.open({ tool: 'app/pay', args: { to: 'ACME', amount: 5 } });
    expect([running.status, held.status]).toEqual(['ready', 'held']);
    // a human approves; before the agent picks it up the gateway crashes
    expect(remote.vote(held.id, 'approve')).toContain('approved');
    await remote.gateway.kill();
    // the operator kills the session (the store has it killed)
    remote.reins('sessions', 'kill', remote.session, '--reason', 'runaway agent');
    expect(remote.reins('sessions', 'show', remote.session, '--format', 'json')).toContain('killed');
    // the gateway comes back on the same store
    restarted = await spawnGateway(remote.deployment.config);
    const url = restarted.endpoint.replace(/\/mcp$/, '');
    const back = new RemoteGovernor({ url, token: remote.token, pollSeconds: 1 });

    // promise: killed sessions stop calls at once; an outcome is refused, an approved call is not released
    const released = await back.get(held.id).catch((error: unknown) => error);
    const reported = await back
      .complete(running.id, { ok: true, result: 'done after the kill' })
      .catch((error: unknown) => error);
    // a fresh call in the killed session is refused (this part holds: decide reads the store)
    expect((await back.open({ tool: 'app/lookup', args: {} })).status).toBe('denied');
    expect({ released, reported }).toMatchObject({
      released: { status: 'denied' },
      reported: { status: 409 },
    });
  }, 90_000);

  it('still releases, after the restart, a call opened before a suspension (kill switch) once the agent is resumed', async () => {
    await restarted?.stop();
    restarted = await spawnGateway(remote.deployment.config);
    const url = () => (restarted as SpawnedGateway).endpoint.replace(/\/mcp$/, '');
    const session = `susp-${Date.now()}`;
    const before = new RemoteGovernor({ url: url(), token: remote.token2(session), pollSeconds: 1 });
    const running = await before.open({ tool: 'app/lookup', args: { customer: 'pre-suspension' } });
    expect(running.status).toBe('ready');
    await restarted.kill(); // crash
    remote.reins('agents', 'suspend', remote.agentId, '--reason', 'compromised');
    remote.reins('agents', 'resume', remote.agentId, '--reason', 'new key issued');
    restarted = await spawnGateway(remote.deployment.config);
    // a fresh credential for the same run (rotation): the call opened before the kill switch
    const after = new RemoteGovernor({ url: url(), token: remote.token2(session), pollSeconds: 1 });
    const reported = await after
      .complete(running.id, { ok: true, result: 'ran across the kill switch' })
      .catch((error: unknown) => error);
    // in a live gateway the suspension ends the call at once (watchStandingOfOpenCalls): 409 afterwards
    expect(reported).toMatchObject({ status: 409 });
  }, 90_000);
});
