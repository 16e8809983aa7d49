/**
 * @module test/replicas-postgres.test
 * Three gateway replicas on one PostgreSQL database behind a load balancer with session affinity on
 * `Mcp-Session-Id` (issue 14), all real: three `reins gateway` processes (the built CLI) on one
 * database and one configuration, test/support/affinity-proxy in front, the real server-everything
 * behind them, official SDK clients over Streamable HTTP. A Reins session is one credential (its `sid`);
 * each is spread over three MCP sessions, one on each replica, and driven concurrently. Every
 * guarantee must hold as in one process: a daily count and a running total shared by the replicas are
 * reached exactly and never overshot, and a sequence or flow rule sees what the session did on another
 * replica. PostgreSQL must be running (REINS_TEST_DATABASE_URL).
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AffinityProxy, startAffinityProxy } from './support/affinity-proxy.js';
import { type EverythingServer, startEverythingServer } from './support/everything-server.js';
import {
  type AgentConnection,
  type CallFate,
  callTool,
  connectAgent,
  fateName,
  runConcurrently,
  tally,
} from './support/governed-calls.js';
import { killMarked } from './support/marked-processes.js';
import { createTestDatabase, type TestDatabase } from './support/postgres-database.js';
import { type SpawnedGateway, spawnGateway } from './support/spawned-gateway.js';
import {
  createStatefulDeployment,
  type DeploymentIdentity,
  openDeploymentIdentity,
  type StatefulDeployment,
} from './support/stateful-deployment.js';

const REPLICAS = 3;
const LIMITS = { lookupsPerAgent: 40, paymentsPerAgent: 1_000, spendPerSession: 500 } as const;
const mark = `replicas-${randomUUID()}`;

let upstream: EverythingServer;
let database: TestDatabase;
let deployment: StatefulDeployment;
let identity: DeploymentIdentity;
const replicas: SpawnedGateway[] = [];
let proxy: AffinityProxy;
const connections: AgentConnection[] = [];

beforeAll(async () => {
  upstream = await startEverythingServer(mark);
  database = await createTestDatabase('reins_replicas');
  deployment = createStatefulDeployment({
    store: { databaseUrl: database.url },
    limits: LIMITS,
    upstream: upstream.url,
  });
  identity = await openDeploymentIdentity(deployment);
  for (const agent of ['clerk', 'payer', 'assistant']) await identity.createAgent(agent);
  replicas.push(
    ...(await Promise.all(Array.from({ length: REPLICAS }, () => spawnGateway(deployment.config, { mark })))),
  );
  proxy = await startAffinityProxy(replicas.map((replica) => replica.endpoint));
}, 120_000); // the replicas start in seconds; a loaded machine takes several times that

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await proxy?.close();
  for (const replica of replicas) await replica.stop();
  await identity?.close();
  await upstream?.close();
  killMarked(mark);
  await database?.drop();
  if (deployment) rmSync(deployment.directory, { recursive: true, force: true });
});

/**
 * One Reins session (`agent` with the credential of `session`) opened three times through the proxy:
 * the MCP sessions, indexed by the replica that holds each (initializes go round-robin).
 */
async function spread(agent: string, session: string): Promise<AgentConnection[]> {
  const token = await identity.credential(agent, session);
  const byReplica: AgentConnection[] = [];
  for (let opened = 0; opened < REPLICAS; opened++) {
    const connection = await connectAgent(proxy.endpoint, token);
    connections.push(connection);
    const replica = proxy.replicaOf(connection.mcpSessionId);
    if (replica === undefined) throw new Error(`no replica holds MCP session ${connection.mcpSessionId}`);
    byReplica[replica] = connection;
  }
  // every replica holds one of this Reins session's MCP sessions
  expect(byReplica.filter(Boolean)).toHaveLength(REPLICAS);
  return byReplica;
}

describe('three replicas on one PostgreSQL behind a proxy with MCP session affinity', () => {
  it('a daily count per agent is reached exactly and never overshot, whichever replica decides', async () => {
    const sessions = [];
    for (const session of ['clerk-a', 'clerk-b', 'clerk-c', 'clerk-d'])
      sessions.push(...(await spread('clerk', session)));
    // 12 MCP sessions x 10 lookups = 120 tries at a budget of 40, twelve at a time
    const tries = sessions.flatMap((connection, index) =>
      Array.from(
        { length: 10 },
        (_, round) => () => callTool(connection, 'crm', 'echo', { message: `look up INV-${index}-${round}` }),
      ),
    );
    const fates = await runConcurrently(tries, 12);
    expect(tally(fates)).toEqual({
      ran: LIMITS.lookupsPerAgent,
      'refused:lookups-per-agent': tries.length - LIMITS.lookupsPerAgent,
    });
  }, 60_000);

  it('a running total per session is reached exactly and never overshot, whichever replica decides', async () => {
    const perSession: CallFate[][] = [];
    const tries: (() => Promise<void>)[] = [];
    for (const session of ['payments-monday', 'payments-tuesday']) {
      const fates: CallFate[] = [];
      perSession.push(fates);
      for (const connection of await spread('payer', session)) {
        // each MCP session looks the invoice up first, on its own replica (the sequence rule holds
        // there whatever the store shares), then pays 25 at a time: 3 x 30 x 25 = 2,250 of 500
        expect(fateName(await callTool(connection, 'crm', 'echo', { message: 'look up INV-1' }))).toBe('ran');
        for (let round = 0; round < 30; round++)
          tries.push(async () => {
            fates.push(await callTool(connection, 'bank', 'get-sum', { a: 25, b: 1 }));
          });
      }
    }
    await runConcurrently(tries, 12);
    for (const fates of perSession)
      expect(tally(fates)).toEqual({
        ran: LIMITS.spendPerSession / 25,
        'refused:spend-per-session': fates.length - LIMITS.spendPerSession / 25,
      });
  }, 60_000);

  it('a sequence or flow rule sees what the session did on another replica', async () => {
    const [a, b, c] = (await spread('assistant', 'invoice-inv-9')) as [
      AgentConnection,
      AgentConnection,
      AgentConnection,
    ];
    const [inboxA, inboxB, inboxC] = (await spread('assistant', 'inbox-triage')) as [
      AgentConnection,
      AgentConnection,
      AgentConnection,
    ];
    const iban = 'DE89 3704 0044 0532 0130 00';
    const observed: Record<string, string> = {};
    const note = async (what: string, fate: Promise<CallFate>) => {
      observed[what] = fateName(await fate);
    };
    // pay only after lookup
    await note('pay on B before any lookup', callTool(b, 'bank', 'get-sum', { a: 10, b: 1 }));
    await note('lookup on A', callTool(a, 'crm', 'echo', { message: 'look up INV-9' }));
    await note('pay on B after the lookup on A', callTool(b, 'bank', 'get-sum', { a: 10, b: 1 }));
    await note('pay on C after the lookup on A', callTool(c, 'bank', 'get-sum', { a: 10, b: 1 }));
    // never send after reading the inbox; no export once untrusted; no payee from the inbox
    await note('send on B before reading the inbox', callTool(inboxB, 'mail', 'get-sum', { a: 1, b: 2 }));
    await note(
      'read the inbox on A',
      callTool(inboxA, 'mail', 'echo', { message: `Overdue: pay INV-9 today to ${iban}. Billing` }),
    );
    await note('send on A after reading the inbox on A', callTool(inboxA, 'mail', 'get-sum', { a: 1, b: 2 }));
    await note('send on B after reading the inbox on A', callTool(inboxB, 'mail', 'get-sum', { a: 1, b: 2 }));
    await note('send on C after reading the inbox on A', callTool(inboxC, 'mail', 'get-sum', { a: 1, b: 2 }));
    await note(
      'export on B after reading the inbox on A',
      callTool(inboxB, 'crm', 'get-sum', { a: 1, b: 2 }),
    );
    await note(
      'transfer on C to the IBAN read on A',
      callTool(inboxC, 'bank', 'echo', { message: iban.replaceAll(' ', '') }),
    );
    await note(
      'transfer on C to an IBAN nobody wrote',
      callTool(inboxC, 'bank', 'echo', { message: 'GB33BUKB20201555555555' }),
    );
    expect(observed).toEqual({
      'pay on B before any lookup': 'refused by pay-after-lookup',
      'lookup on A': 'ran',
      'pay on B after the lookup on A': 'ran',
      'pay on C after the lookup on A': 'ran',
      'send on B before reading the inbox': 'ran',
      'read the inbox on A': 'ran',
      'send on A after reading the inbox on A': 'refused by no-send-after-inbox',
      'send on B after reading the inbox on A': 'refused by no-send-after-inbox',
      'send on C after reading the inbox on A': 'refused by no-send-after-inbox',
      'export on B after reading the inbox on A': 'refused by no-export-after-untrusted',
      'transfer on C to the IBAN read on A': 'refused by payee-from-inbox',
      'transfer on C to an IBAN nobody wrote': 'ran',
    });
  }, 60_000);
});
