/**
 * @module test/support/console-fixture
 * A real `reins serve` (in-process) in a temporary directory: server-everything from npm as the
 * upstream over stdio, a policy that holds `echo` for approval, registered agents and console users
 * created through the real stores, and helpers for MCP clients (official SDK, Streamable HTTP) and for
 * Chromium (playwright-core with the system's /usr/bin/chromium). Used by the browser tests and by
 * `npm run screenshots`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { type Browser, chromium } from 'playwright-core';
import { createUser } from '../../src/api/users.js';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';
import { createKeyDirectory } from '../../src/keys/key-directory.js';
import { directoryKeySource } from '../../src/keys/key-source.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { connectHttp } from './http-gateway.js';

const require = createRequire(import.meta.url);
const everything = require.resolve('@modelcontextprotocol/server-everything/dist/index.js');

export const CHROMIUM_PATH = process.env.REINS_CHROMIUM ?? '/usr/bin/chromium';

export interface ConsoleFixture {
  readonly directory: string;
  readonly serve: RunningServe;
  readonly tokens: { readonly viewer: string; readonly approver: string; readonly admin: string };
  readonly logs: string[];
  /** A credential for agent `clerk` bound to `sessionId`. */
  agentToken(sessionId: string): Promise<string>;
  /** Pending approval requests, through the API as the admin sees them. */
  pendingApprovals(): Promise<{ id: string; sessionId: string }[]>;
  /** An MCP client (official SDK) connected to the gateway with this credential. */
  mcp(token: string): Promise<Client>;
  close(): Promise<void>;
}

/** Another policy or gateway configuration than the console tests' (the dashboard's). */
export interface ConsoleFixtureOptions {
  readonly policy?: string;
  readonly config?: (directory: string) => string;
}

export async function startConsoleFixture(options: ConsoleFixtureOptions = {}): Promise<ConsoleFixture> {
  const directory = mkdtempSync(join(tmpdir(), 'reins-console-'));
  writeFileSync(
    join(directory, 'policy.yaml'),
    options.policy ??
      `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: console }
tools:
  - { server: everything, name: "echo", risk: high, effects: [external] }
  - { server: everything, name: "get-sum", risk: low, effects: [read] }
rules:
  - { id: sums, effect: allow, tool: { server: everything, name: get-sum }, reason: arithmetic is harmless }
  - { id: echo-needs-a-human, effect: approve, tool: { server: everything, name: echo }, reason: messages leave the building }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    options.config?.(directory) ??
      `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(everything)}] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
limits: { callTimeout: 20s, approvalTimeout: 5m }
`,
  );
  const database = join(directory, 'reins.db');
  const identity = new SqliteIdentityStore({ path: database });
  await new AgentRegistry(identity).create({
    id: 'clerk',
    owner: 'ana@example.com',
    description: 'answers customer messages',
    scopes: ['everything/*'],
  });
  const users = new SqliteUserStore({ path: database });
  const tokens = {
    viewer: (await createUser(users, { id: 'vera@example.com', roles: ['viewer'], by: 'fixture' })).token,
    approver: (await createUser(users, { id: 'alex@example.com', roles: ['approver'], by: 'fixture' })).token,
    admin: (await createUser(users, { id: 'root@example.com', roles: ['admin'], by: 'fixture' })).token,
  };
  await users.close();
  // the deployment's default credential key directory, which `reins serve` below uses too
  const keyDirectory = join(directory, '.reins-keys', 'credentials');
  createKeyDirectory(keyDirectory);
  const authenticator = await Authenticator.open({ store: identity, keys: directoryKeySource(keyDirectory) });

  const logs: string[] = [];
  const serve = await startServe(join(directory, 'reins.yaml'), (line) => logs.push(line));
  const clients: Client[] = [];
  return {
    directory,
    serve,
    tokens,
    logs,
    pendingApprovals: async () => {
      const response = await fetch(`${serve.controlUrl}/v1/approvals?status=pending`, {
        headers: { authorization: `Bearer ${tokens.admin}` },
      });
      return ((await response.json()) as { approvals: { id: string; sessionId: string }[] }).approvals;
    },
    agentToken: async (sessionId) => (await authenticator.issue('clerk', { sessionId })).token,
    mcp: async (token) => {
      const client = await connectHttp(serve.gatewayUrl, token);
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const client of clients) await client.close().catch(() => {});
      await serve.close();
      authenticator.close();
      await identity.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
}
