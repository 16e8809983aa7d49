/**
 * @module test/security/http-session-credential.test
 * Finding (issue 11, high): an MCP session over Streamable HTTP kept the principal of the credential
 * that opened it. Later requests only needed *some* valid credential of the same agent, so a narrower
 * credential did not narrow anything, a revoked opener's scopes lived on, and another credential
 * session could ride on the MCP session out of reach of a kill of its own session. End to end: the
 * real `reins gateway` fronting server-everything, official SDK clients with Reins credentials.
 * Also: sessions of a suspended agent are closed, and open MCP sessions are capped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from '../support/eventually.js';
import {
  type CredentialClient,
  connectWithCredential,
  exchangeToken,
  type RunningGateway,
  startHttpGateway,
  textOf,
} from '../support/http-gateway.js';
import { credentialKeysBeside } from '../support/test-keys.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: session-credential }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: get-sum, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: harmless, effect: allow, tool: { server: everything, effects: read }, reason: harmless tools }
`;

function gatewayConfig(limits: string): string {
  return `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s${limits} }
`;
}

let directory: string;
let gateway: RunningGateway;
let identity: SqliteIdentityStore;
let registry: AgentRegistry;
let auth: Authenticator;
const clients: CredentialClient[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-session-credential-'));
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  writeFileSync(join(directory, 'reins.yaml'), gatewayConfig(''));
  identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  registry = new AgentRegistry(identity);
  await registry.create({ id: 'reader', owner: 'rob@example.com', scopes: ['everything/*'] });
  await registry.create({ id: 'suspendee', owner: 'sue@example.com', scopes: ['everything/*'] });
  auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  for (const { client } of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  auth?.close();
  await identity?.close();
  if (directory) rmSync(directory, { recursive: true, force: true });
});

async function connect(endpoint: string, token: string): Promise<CredentialClient> {
  const connected = await connectWithCredential(endpoint, token);
  clients.push(connected);
  return connected;
}

const echo = (client: CredentialClient, message: string) =>
  client.client.callTool({ name: 'everything__echo', arguments: { message } }) as Promise<CallToolResult>;

describe('an MCP session over HTTP is authorised request by request', () => {
  it('a narrower credential presented on an open MCP session narrows what that request may do', async () => {
    const wide = await auth.issue('reader', { sessionId: 'narrowing' });
    const session = await connect(gateway.endpoint, wide.token);
    expect(textOf(await echo(session, 'wide'))).toContain('wide');

    session.credential.token = (
      await auth.issue('reader', { sessionId: 'narrowing', scopes: ['everything/get-sum'] })
    ).token;
    const narrowed = await echo(session, 'should not pass');
    expect(narrowed.isError).toBe(true);
    expect(textOf(narrowed)).toContain('Reins refused this call');
    const sum = (await session.client.callTool({
      name: 'everything__get-sum',
      arguments: { a: 2, b: 3 },
    })) as CallToolResult;
    expect(textOf(sum)).toContain('5');
  });

  it('an MCP session stays bound to the credential session that opened it (revoked opener, other credential)', async () => {
    const opener = await auth.issue('reader', { sessionId: 'opener-session' });
    const session = await connect(gateway.endpoint, opener.token);
    expect(textOf(await echo(session, 'opened'))).toContain('opened');
    const rider = await auth.issue('reader', { sessionId: 'rider-session' });

    // a valid credential of the same agent, but of another Reins session: it may not ride on this one
    session.credential.token = rider.token;
    await expect(echo(session, 'riding')).rejects.toThrow(/another credential session/);

    // once the opener is revoked, neither it nor a rider gets anything more out of the session
    await auth.revoke('token', opener.claims.jti, { by: 'sec@example.com', reason: 'leaked' });
    session.credential.token = opener.token;
    // the gateway hears of the revocation through the store (SQLite: polled every 50 ms)
    await eventually(() => expect(echo(session, 'revoked opener')).rejects.toThrow(/revoked/));
    session.credential.token = rider.token;
    await expect(echo(session, 'riding later')).rejects.toThrow(
      /another credential session|unknown or expired MCP session/,
    );
  });

  it('closes the MCP sessions of a suspended agent: they do not come back with a new credential', async () => {
    const first = await auth.issue('suspendee', { sessionId: 'suspended-session' });
    const session = await connect(gateway.endpoint, first.token);
    expect(textOf(await echo(session, 'before'))).toContain('before');

    await registry.suspend('suspendee', { by: 'sec@example.com', reason: 'misbehaving' });
    const suspendedAt = Date.now();
    await eventually(() => expect(echo(session, 'while suspended')).rejects.toThrow(/suspended|revoked/));

    await registry.resume('suspendee', { by: 'sec@example.com', reason: 'investigated' });
    // credentials carry their issue time in whole seconds: one issued in the second of the suspension
    // counts as issued before it (revoked), so the new one is issued in the next second, by a clock that
    // is there already (within the tolerance for clock skew) rather than after a wait
    const nextSecond = Math.ceil((suspendedAt + 1) / 1000) * 1000;
    const fresh = await Authenticator.open({
      store: identity,
      keys: credentialKeysBeside(directory),
      clock: () => Math.max(Date.now(), nextSecond),
    });
    session.credential.token = (await fresh.issue('suspendee', { sessionId: 'suspended-session' })).token;
    fresh.close();
    // once the gateway knows the agent is active again, the old MCP session is gone
    await eventually(() =>
      expect(echo(session, 'after resume')).rejects.toThrow(/unknown or expired MCP session/),
    );
  });
});

/**
 * Runs `body` against a gateway of its own with the session limits `limits` (reins.yaml's `limits`
 * entries, e.g. `, maxSessionsPerAgent: 2`) and the agents `agents`, each scoped to everything/*.
 */
async function withCappedGateway(
  limits: string,
  agents: readonly string[],
  body: (gateway: RunningGateway, token: (agentId: string) => Promise<string>) => Promise<void>,
): Promise<void> {
  const capped = mkdtempSync(join(tmpdir(), 'reins-session-caps-'));
  try {
    writeFileSync(join(capped, 'policy.yaml'), POLICY);
    writeFileSync(join(capped, 'reins.yaml'), gatewayConfig(limits));
    const store = new SqliteIdentityStore({ path: join(capped, 'reins.db') });
    const registry = new AgentRegistry(store);
    for (const id of agents)
      await registry.create({ id, owner: `${id}@example.com`, scopes: ['everything/*'] });
    const issuer = await Authenticator.open({ store, keys: credentialKeysBeside(capped) });
    const running = await startHttpGateway(join(capped, 'reins.yaml'));
    try {
      await body(running, async (agentId) => (await issuer.issue(agentId)).token);
    } finally {
      expect(await running.stop()).toBe(0);
      issuer.close();
      await store.close();
    }
  } finally {
    rmSync(capped, { recursive: true, force: true });
  }
}

describe('open MCP sessions are capped', () => {
  it('sessions of credentials an agent delegated count as its own, not as the agent it delegated to', async () => {
    // found by an outside attack: an agent delegated credentials to another agent (any whose scopes
    // overlap) and opened sessions with them until that agent's own credential was refused
    await withCappedGateway(', maxSessionsPerAgent: 2', ['greedy', 'victim'], async (running, token) => {
      const greedy = await token('greedy');
      for (const task of ['t1', 't2'])
        await connect(running.endpoint, await exchangeToken(running.endpoint, greedy, 'victim', task));
      await expect(connect(running.endpoint, greedy)).rejects.toThrow(
        /at most 2 open MCP sessions for agent `greedy`/,
      );
      const victim = await connect(running.endpoint, await token('victim'));
      expect(textOf(await echo(victim, 'still served'))).toContain('still served');
    });
  }, 60_000);

  it('refuses a new session past the per-agent and the total cap, with a clear error', async () => {
    const limits = ', maxSessions: 3, maxSessionsPerAgent: 2';
    await withCappedGateway(limits, ['reader', 'writer'], async (running, token) => {
      const first = await connect(running.endpoint, await token('reader'));
      await connect(running.endpoint, await token('reader'));
      await expect(connect(running.endpoint, await token('reader'))).rejects.toThrow(
        /at most 2 open MCP sessions for agent `reader`/,
      );
      await connect(running.endpoint, await token('writer'));
      await expect(connect(running.endpoint, await token('writer'))).rejects.toThrow(
        /at most 3 open MCP sessions/,
      );
      // ending a session makes room again
      await first.transport.terminateSession();
      const again = await connect(running.endpoint, await token('reader'));
      expect(textOf(await echo(again, 'room again'))).toContain('room again');
    });
  }, 60_000);
});
