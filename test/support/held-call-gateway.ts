/**
 * @module test/support/held-call-gateway
 * A `reins gateway` for the tests of held calls: its policy holds every `write` of a counting upstream
 * (which records each execution in a file) for approval and lets `read` through; the store has an
 * admin and an approver. Gives the store's directory and database, the execution log, and agents with
 * credentials.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Authenticator } from '../../src/auth/authenticator.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import { type RunningGateway, startHttpGateway } from './http-gateway.js';
import { createOperators, reins } from './reins-cli.js';
import { credentialKeysBeside } from './test-keys.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
/** The counting upstream: `<executions file> <label>` as its arguments. */
export const COUNTING_SERVER = join(ROOT, 'test/support/counting-server.ts');

export interface HeldCallGateway {
  readonly directory: string;
  readonly db: string;
  /** The counting upstream's record of what it ran. */
  readonly executions: string;
  readonly operators: { admin: string; approver: string };
  readonly gateway: RunningGateway;
  /** Registers an agent allowed every tool of the counting upstream. */
  createAgent(id: string): void;
  tokenFor(agent: string): Promise<string>;
  /** Stops the gateway (resolves with its exit code) and removes the directory. */
  close(): Promise<number | null | undefined>;
}

export async function startHeldCallGateway(prefix: string): Promise<HeldCallGateway> {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  const db = join(directory, 'reins.db');
  const executions = join(directory, 'executions.jsonl');
  const operators = createOperators(db, directory);
  writeFileSync(
    join(directory, 'policy.yaml'),
    `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: held-writes }
tools:
  - { server: counting, name: "*", risk: high, effects: [external] }
rules:
  - { id: writes-need-a-human, effect: approve, tool: { name: write }, reason: every write is reviewed }
  - { id: reads-are-fine, effect: allow, tool: { name: read }, reason: reading is harmless }
`,
  );
  writeFileSync(
    join(directory, 'reins.yaml'),
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: counting
    stdio:
      command: ${JSON.stringify(process.execPath)}
      args: [--import, tsx, ${JSON.stringify(COUNTING_SERVER)}, ${JSON.stringify(executions)}, http]
      cwd: ${JSON.stringify(ROOT)}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, approvalTimeout: 60s }
`,
  );
  const gateway = await startHttpGateway(join(directory, 'reins.yaml'));
  return {
    directory,
    db,
    executions,
    operators,
    gateway,
    createAgent: (id) => {
      reins(db, directory, 'agents', 'create', id, '--owner', 'olivia@example.com', '--scopes', 'counting/*');
    },
    async tokenFor(agent) {
      const store = new SqliteIdentityStore({ path: db });
      const auth = await Authenticator.open({ store, keys: credentialKeysBeside(directory) });
      try {
        return (await auth.issue(agent)).token;
      } finally {
        auth.close();
        await store.close();
      }
    },
    async close() {
      const code = await gateway.stop();
      rmSync(directory, { recursive: true, force: true });
      return code;
    },
  };
}
