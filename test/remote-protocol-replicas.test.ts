/**
 * @module test/remote-protocol-replicas.test
 * The remote protocol in a real deployment (issue 15): two `reins gateway` processes on one store, and
 * a gateway killed with SIGKILL while a call is held. A call opened on one replica is waited on and
 * completed on the other; a held call outlives the process that held it (the approval request is in
 * the store) and runs once approved, with exactly the held arguments; two outcomes reported for one
 * call at the same time, one to each replica, are recorded once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GovernorError } from '../src/adapters/governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';
import { type SpawnedGateway, spawnGateway } from './support/spawned-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-replicas }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: pay, risk: high, effects: [write, external] }
  - { server: app, name: pay_now, risk: high, effects: [write, external] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
  - { id: payments-need-a-human, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
  - id: urgent-payments
    effect: approve
    tool: { server: app, name: pay_now }
    approval: { expires: 1s }
    reason: an urgent payment needs a human within a second
`;

let remote: RemoteDeployment;
let second: SpawnedGateway | undefined;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
  second = await spawnGateway(remote.deployment.config);
}, 60_000);

afterAll(async () => {
  await second?.stop();
  await remote?.close();
});

function agentAt(endpoint: string): RemoteGovernor {
  return new RemoteGovernor({ url: endpoint.replace(/\/mcp$/, ''), token: remote.token, pollSeconds: 1 });
}

describe('the remote protocol across processes', () => {
  it('a call opened on one replica is completed on the other, once', async () => {
    const one = agentAt(remote.gateway.endpoint);
    const two = agentAt(second?.endpoint ?? '');
    const opened = await one.open({ tool: 'app/lookup', args: { customer: 'acme' } });
    expect(await two.get(opened.id)).toMatchObject({ status: 'ready', args: { customer: 'acme' } });
    // the same outcome told to both replicas at once: one records it, the other refuses
    const both = await Promise.allSettled([
      one.complete(opened.id, { ok: true, result: 'from one' }),
      two.complete(opened.id, { ok: true, result: 'from two' }),
    ]);
    const accepted = both.filter((each) => each.status === 'fulfilled');
    const refused = both.filter((each) => each.status === 'rejected');
    expect(accepted).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(GovernorError);
    const outcomes = remote
      .records()
      .filter((record) => record.kind === 'call-outcome' && record.decisionId === opened.id);
    expect(outcomes).toHaveLength(1);
  }, 60_000);

  it('a held call outlives a gateway killed with SIGKILL and runs once approved, with the held arguments', async () => {
    const doomed = await spawnGateway(remote.deployment.config);
    const opened = await agentAt(doomed.endpoint).open({
      tool: 'app/pay',
      args: { to: 'ACME', amount: 5 },
      callId: 'tc-1',
    });
    expect(opened.status).toBe('held');
    await doomed.kill();
    remote.vote(opened.id, 'approve');
    const survivor = agentAt(second?.endpoint ?? '');
    // the framework re-runs its step after the crash: the same call id finds the same call
    const again = await survivor.open({ tool: 'app/pay', args: { to: 'ACME', amount: 5 }, callId: 'tc-1' });
    expect(again.id).toBe(opened.id);
    const ready = await survivor.wait(opened.id);
    expect(ready).toMatchObject({ status: 'ready', args: { to: 'ACME', amount: 5 } });
    expect(await survivor.complete(opened.id, { ok: true, result: 'paid' })).toMatchObject({
      status: 'completed',
    });
    expect(JSON.parse(remote.reins('approvals', 'show', opened.id, '--format', 'json')).status).toBe('used');
  }, 60_000);

  it('a held call refused or expired while the process that held it is gone is ended by another', async () => {
    const doomed = await spawnGateway(remote.deployment.config);
    const refused = await agentAt(doomed.endpoint).open({ tool: 'app/pay', args: { to: 'NO', amount: 1 } });
    const expiring = await agentAt(doomed.endpoint).open({
      tool: 'app/pay_now',
      args: { to: 'LATE', amount: 1 },
    });
    expect([refused.status, expiring.status]).toEqual(['held', 'held']);
    await doomed.kill();
    remote.vote(refused.id, 'deny');
    const survivor = agentAt(second?.endpoint ?? '');
    const denied = await survivor.get(refused.id);
    expect(denied).toMatchObject({ status: 'denied', outcome: 'denied' });
    expect(denied.reason).toMatch(/refused by ann/);
    // nobody is left to time it out but the store's expiry: the survivor ends it when asked
    const expired = await survivor.wait(expiring.id, { timeoutMs: 10_000 });
    expect(expired).toMatchObject({ status: 'denied', outcome: 'expired' });
    const records = remote
      .records()
      .filter(
        (record) =>
          record.kind.startsWith('call-') &&
          (record.decisionId === refused.id || record.decisionId === expiring.id),
      );
    expect(records.map((record) => record.kind).sort()).toEqual([
      'call-intent',
      'call-intent',
      'call-outcome',
      'call-outcome',
    ]);
    const verified = remote.verify();
    expect(verified.code, verified.out).toBe(0);
  }, 60_000);
});
