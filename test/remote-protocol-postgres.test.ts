/**
 * @module test/remote-protocol-postgres.test
 * The remote protocol on PostgreSQL (issue 15): two `reins gateway` replicas on one database. A held
 * call opened on one is approved by a CLI process and completed on the other; one outcome reported to
 * both at once is recorded once; one call id opened on both at once opens one call. The claims behind
 * "once" are the database's (`reins_reserve` under advisory locks), not a process's memory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GovernorError } from '../src/adapters/governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';
import { type SpawnedGateway, spawnGateway } from './support/spawned-gateway.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: remote-postgres }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: pay, risk: high, effects: [write, external] }
rules:
  - { id: reads, effect: allow, tool: { server: app, name: lookup }, reason: reads are fine }
  - { id: payments-need-a-human, effect: approve, tool: { server: app, name: pay }, reason: payments need a human }
`;

let database: TestDatabase;
let remote: RemoteDeployment;
let second: SpawnedGateway | undefined;

beforeAll(async () => {
  database = await createTestDatabase('reins_remote');
  remote = await startRemoteDeployment({ policy: POLICY, databaseUrl: database.url });
  second = await spawnGateway(remote.deployment.config);
}, 90_000);

afterAll(async () => {
  await second?.stop();
  await remote?.close();
  await database?.drop();
});

const agentAt = (endpoint: string) =>
  new RemoteGovernor({ url: endpoint.replace(/\/mcp$/, ''), token: remote.token, pollSeconds: 1 });

describe('the remote protocol on PostgreSQL replicas', () => {
  it('a held call opened on one replica is approved and completed on the other, once', async () => {
    const one = agentAt(remote.gateway.endpoint);
    const two = agentAt(second?.endpoint ?? '');
    const opened = await one.open({ tool: 'app/pay', args: { to: 'ACME', amount: 3 }, callId: 'pg-1' });
    expect(opened.status).toBe('held');
    remote.vote(opened.id, 'approve');
    expect(await two.wait(opened.id)).toMatchObject({ status: 'ready', args: { to: 'ACME', amount: 3 } });
    const both = await Promise.allSettled([
      one.complete(opened.id, { ok: true, result: 'paid once' }),
      two.complete(opened.id, { ok: true, result: 'paid twice' }),
    ]);
    expect(both.filter((each) => each.status === 'fulfilled')).toHaveLength(1);
    const outcomes = remote
      .records()
      .filter((record) => record.kind === 'call-outcome' && record.decisionId === opened.id);
    expect(outcomes).toHaveLength(1);
  }, 60_000);

  it('one call id opened on both replicas at once opens one call', async () => {
    const request = { tool: 'app/lookup', args: { customer: 'race' }, callId: 'pg-race' };
    const both = await Promise.allSettled([
      agentAt(remote.gateway.endpoint).open(request),
      agentAt(second?.endpoint ?? '').open(request),
    ]);
    for (const each of both)
      if (each.status === 'rejected') expect((each.reason as GovernorError).code).toBe('call_conflict');
    const ids = both.flatMap((each) => (each.status === 'fulfilled' ? [each.value.id] : []));
    expect(new Set(ids).size).toBe(1);
    const intents = remote
      .records()
      .filter((record) => record.kind === 'call-intent' && record.decisionId === ids[0]);
    expect(intents).toHaveLength(1);
    const verified = remote.verify();
    expect(verified.code, verified.out).toBe(0);
  }, 60_000);
});
