/**
 * @module test/support/rollback-serve
 * A real `reins serve` (in-process: gateway, control API and console) in front of the real
 * `@modelcontextprotocol/server-filesystem` from npm, with the built-in reversal profile applied and a
 * policy that lets the role `release-managers` roll back (issue 16). Users: an admin, a viewer, a
 * release manager (viewer + `release-managers`) and an approver; one agent whose MCP clients (official
 * SDK, Streamable HTTP) get a credential per session. Used by the rollback API and console tests and by
 * `npm run screenshots`.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { createUser } from '../../src/api/users.js';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { type RunningServe, startServe } from '../../src/cli/serve-command.js';
import { createKeyDirectory } from '../../src/keys/key-directory.js';
import { directoryKeySource } from '../../src/keys/key-source.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { SqliteUserStore } from '../../src/store/sqlite/sqlite-user-store.js';
import { connectHttp } from './http-gateway.js';
import { FILESYSTEM_SERVER, ROLLBACK_POLICY } from './rollback-deployment.js';

/**
 * The rollback deployment's policy, with one more role that may roll back, and secrets redacted from
 * what people and agents see (tool results, and the step arguments a rollback plan shows).
 */
export const SERVE_ROLLBACK_POLICY = `${ROLLBACK_POLICY}  operators: [release-managers]
redaction:
  outputs: { secret: redact }
  inputs: { secret: allow }
`;

export type RollbackUser = 'admin' | 'viewer' | 'releaseManager' | 'approver';

export interface RollbackServe {
  readonly directory: string;
  readonly serve: RunningServe;
  /** The filesystem server's allowed directory (real path). */
  readonly work: string;
  readonly tokens: Readonly<Record<RollbackUser, string>>;
  readonly logs: string[];
  /** An MCP client of agent `editor` in `sessionId`. */
  connect(sessionId: string): Promise<Client>;
  /** A request to the control API with a user's bearer token. */
  api(method: string, path: string, as: RollbackUser, body?: unknown): Promise<Response>;
  close(): Promise<void>;
}

export async function startRollbackServe(): Promise<RollbackServe> {
  const directory = mkdtempSync(join(tmpdir(), 'reins-rollback-serve-'));
  mkdirSync(join(directory, 'work'));
  const work = realpathSync(join(directory, 'work'));
  writeFileSync(join(directory, 'policy.yaml'), SERVE_ROLLBACK_POLICY);
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
lock: reins.lock
upstreams:
  - name: fs
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(work)}] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
limits: { callTimeout: 20s }
`,
  );
  const database = join(directory, 'reins.db');
  const identity = new SqliteIdentityStore({ path: database });
  await new AgentRegistry(identity).create({
    id: 'editor',
    owner: 'olivia@example.com',
    description: 'edits the service configuration',
    scopes: ['fs/*'],
  });
  const users = new SqliteUserStore({ path: database });
  const user = async (id: string, roles: string[]) =>
    (await createUser(users, { id, roles, by: 'fixture' })).token;
  const tokens = {
    admin: await user('root@example.com', ['admin']),
    viewer: await user('vera@example.com', ['viewer']),
    releaseManager: await user('rita@example.com', ['viewer', 'release-managers']),
    approver: await user('alex@example.com', ['approver']),
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
    work,
    tokens,
    logs,
    connect: async (sessionId) => {
      const { token } = await authenticator.issue('editor', { sessionId });
      const client = await connectHttp(serve.gatewayUrl, token);
      clients.push(client);
      return client;
    },
    api: (method, path, as, body) =>
      fetch(`${serve.controlUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${tokens[as]}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
    close: async () => {
      for (const client of clients) await client.close().catch(() => {});
      await serve.close();
      authenticator.close();
      await identity.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
