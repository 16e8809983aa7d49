/**
 * Attack (issue 15 review): a session killed while a call is held ends the call (outcome `cancelled`),
 * but the harness does not close its approval request (harness `stateOf` -> `endRecorded` for a killed
 * session; the suspension path does close it): approvers keep seeing a pending request for a call that
 * is already over, until it expires. Compare the suspension case of test/remote-protocol.test.ts, which
 * asserts `pending()` is empty.
 *
 * Fixed: ending a held call because its session was killed closes its approval request (cancelled).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { eventually } from '../support/eventually.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-tools }
tools:
  - { server: app, name: pay, risk: high, effects: [write] }
rules:
  - { id: pay, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
`;

let remote: RemoteDeployment;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
}, 60_000);

afterAll(async () => {
  await remote?.close();
});

describe('a held call of a killed session', () => {
  it('leaves no pending approval request behind', async () => {
    const agent = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 1 });
    const held = await agent.open({ tool: 'app/pay', args: { to: 'X', amount: 3 } });
    expect(held.status).toBe('held');
    remote.reins('sessions', 'kill', remote.session, '--reason', 'stop');
    await eventually(
      async () =>
        expect(
          remote.records().some((record) => record.kind === 'call-outcome' && record.decisionId === held.id),
        ).toBe(true),
      { timeoutMs: 10_000, intervalMs: 200, what: 'the cancelled outcome' },
    );
    expect(remote.pending().map((each) => each.id)).not.toContain(held.id);
  }, 60_000);
});
