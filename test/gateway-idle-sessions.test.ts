/**
 * @module test/gateway-idle-sessions.test
 * Idle MCP sessions leave the gateway's memory on their own: a session nobody uses for longer than
 * `sessionIdleTimeout` is closed even when no new session arrives (before, only opening a session
 * swept the idle ones, so a gateway that went quiet kept every abandoned session and its server).
 * End to end: the real `reins gateway` fronting server-everything, official SDK clients.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { eventually } from './support/eventually.js';
import {
  type CredentialClient,
  connectWithCredential,
  type RunningGateway,
  startHttpGateway,
  textOf,
} from './support/http-gateway.js';
import { credentialKeysBeside } from './support/test-keys.js';

const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);

let directory: string;
let gateway: RunningGateway;
let identity: SqliteIdentityStore;
let auth: Authenticator;
const clients: CredentialClient[] = [];

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'reins-idle-sessions-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: idle-sessions }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: echo, effect: allow, tool: { server: everything, name: echo }, reason: harmless }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, sessionIdleTimeout: 1s }
`,
  );
  identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({
    id: 'reader',
    owner: 'rob@example.com',
    scopes: ['everything/*'],
  });
  auth = await Authenticator.open({ store: identity, keys: credentialKeysBeside(directory) });
  gateway = await startHttpGateway(join(directory, 'reins.yaml'));
}, 60_000);

afterAll(async () => {
  for (const { client } of clients) await client.close().catch(() => {});
  expect(await gateway?.stop()).toBe(0);
  await auth?.close();
  await identity?.close();
  rmSync(directory, { recursive: true, force: true });
});

const echo = (session: CredentialClient, message: string) =>
  session.client.callTool({ name: 'everything__echo', arguments: { message } });

describe('idle MCP sessions', () => {
  it('are closed after the idle timeout although no new session arrives', async () => {
    const token = (await auth.issue('reader', { sessionId: 'idle-session' })).token;
    const session = await connectWithCredential(gateway.endpoint, token);
    clients.push(session);
    expect(textOf(await echo(session, 'before'))).toContain('before');
    const id = session.transport.sessionId as string;
    expect(id).toBeDefined();

    // nothing else happens on the gateway: the session is closed all the same
    await eventually(
      () => expect(gateway.log.join('\n')).toContain(`closing MCP session ${id} of agent \`reader\`: idle`),
      { timeoutMs: 20_000, what: 'the idle session to be closed' },
    );
    await expect(echo(session, 'after')).rejects.toThrow(/unknown or expired MCP session/);
  }, 30_000);
});
