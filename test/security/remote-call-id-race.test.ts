/**
 * Attack (issue 15 review): the idempotency key (`callId`) is checked with a read-then-write that is
 * serialised only inside one process (KeyedLock). Two gateway processes on the same store, each sent
 * the same call id at the same moment with different arguments, both find no record, both decide and
 * both record an intent under the same decision id: the agent is handed two `ready` answers for one
 * call id with different arguments, and the log holds two intents with one decision id.
 *
 * Fixed: a call id is claimed in the shared counter store before the call is opened; the loser reads
 * the winner's call (or is told to retry).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallState } from '../../src/spec/remote-call.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';
import { type SpawnedGateway, spawnGateway } from '../support/spawned-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-tools }
tools:
  - { server: app, name: transfer, risk: medium, effects: [write] }
rules:
  - { id: transfers, effect: allow, tool: { server: app, name: transfer }, reason: transfers are fine }
`;

let remote: RemoteDeployment;
let second: SpawnedGateway;

beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
  second = await spawnGateway(remote.deployment.config);
}, 60_000);

afterAll(async () => {
  await second?.stop();
  await remote?.close();
});

async function open(
  base: string,
  token: string,
  body: unknown,
): Promise<{ status: number; body: CallState }> {
  const response = await fetch(`${base}/v1/calls`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as CallState };
}

describe('one call id, two replicas, two argument sets', () => {
  it('is refused on one of them (call_conflict), never ready twice with different arguments', async () => {
    const urlA = remote.url;
    const urlB = second.endpoint.replace(/\/mcp$/, '');
    const both: {
      key: string;
      a: { status: number; body: CallState };
      b: { status: number; body: CallState };
    }[] = [];
    for (let round = 0; round < 30; round++) {
      const key = `tool-call-${round}`;
      const [a, b] = await Promise.all([
        open(urlA, remote.token, { tool: 'app/transfer', args: { to: 'ALICE', amount: 10 }, callId: key }),
        open(urlB, remote.token, {
          tool: 'app/transfer',
          args: { to: 'MALLORY', amount: 10_000 },
          callId: key,
        }),
      ]);
      both.push({ key, a, b });
    }
    const doubled = both.filter((each) => each.a.body.status === 'ready' && each.b.body.status === 'ready');
    // the agent runs both and reports both: which outcome belongs to which intent?
    const reports: unknown[] = [];
    if (doubled[0]) {
      for (const [base, result] of [
        [urlA, 'sent 10 to ALICE'],
        [urlB, 'sent 10000 to MALLORY'],
      ] as const) {
        const response = await fetch(`${base}/v1/calls/${doubled[0].a.body.id}/outcome`, {
          method: 'POST',
          headers: { authorization: `Bearer ${remote.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ok: true, result }),
        });
        reports.push({ status: response.status, body: await response.json() });
      }
    }
    console.log(JSON.stringify(reports, null, 1));
    const verified = remote.verify();
    console.log('verify', verified.code, verified.out.slice(0, 400));
    const records = remote.records().filter((record) => record.kind === 'call-intent');
    const perId = new Map<string, number>();
    for (const record of records)
      perId.set(String(record.decisionId), (perId.get(String(record.decisionId)) ?? 0) + 1);
    const duplicated = [...perId.values()].filter((count) => count > 1).length;
    const example = doubled[0];
    expect(
      {
        doubled: doubled.length,
        duplicatedIntentIds: duplicated,
        example: example && {
          id: [example.a.body.id, example.b.body.id],
          args: [example.a.body.args, example.b.body.args],
        },
      },
      'same call id handed out twice with different arguments',
    ).toMatchObject({ doubled: 0, duplicatedIntentIds: 0 });
  }, 90_000);
});
