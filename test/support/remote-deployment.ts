/**
 * @module test/support/remote-deployment
 * A deployment for agents whose tools are their own functions (the remote protocol, issue 15): a real
 * `reins gateway` process with no MCP upstream, a SQLite store, the policy the test gives, one agent
 * with a credential, and an approver. Humans act through separate CLI processes (`reins approvals
 * approve`, `sessions kill`, `agents suspend`), as they would from another terminal.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { createDeployment, type Deployment, okIn, reinsIn } from './deployment-fixture.js';
import { type SpawnedGateway, spawnGateway } from './spawned-gateway.js';

export interface RemoteDeployment {
  readonly deployment: Deployment;
  readonly gateway: SpawnedGateway;
  /** The gateway's base URL (the protocol is under `/v1/calls`). */
  readonly url: string;
  /** The agent's credential (its session is `session`). */
  readonly token: string;
  readonly agentId: string;
  readonly session: string;
  /** Another credential of the same agent in another session. */
  token2(session: string): string;
  /** Pending approval requests, as `reins approvals list` shows them. */
  pending(): { id: string; sessionId: string; args: Record<string, unknown>; status: string }[];
  /** `reins approvals approve <id>` (or `deny`) in a process of its own, as the approver. */
  vote(id: string, verdict: 'approve' | 'deny'): string;
  /** Runs any `reins` command on the deployment (its config), as the admin; throws on failure. */
  reins(...args: string[]): string;
  /** `reins audit verify`: exit code and output. */
  verify(): { code: number | null; out: string };
  /** Every audit record of the session, oldest first. */
  records(): {
    kind: string;
    decisionId?: string;
    outcome?: string;
    decision?: { effect: string };
    args?: unknown;
    result?: unknown;
    error?: string;
  }[];
  close(): Promise<void>;
}

export const REMOTE_SERVER = 'app';

/** Starts the deployment; `policy` names tools `app/<name>`. */
export async function startRemoteDeployment(options: {
  policy: string;
  agentId?: string;
  scopes?: string;
  /** Appended to reins.yaml (e.g. `approvals: { timeout: 2s }`). */
  extra?: string;
}): Promise<RemoteDeployment> {
  const deployment = createDeployment({ policy: options.policy });
  // no MCP upstream: this gateway serves the remote protocol only
  const config = `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: state/audit.db }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
listen: { host: 127.0.0.1, port: 0 }
${options.extra ?? ''}`;
  writeFileSync(deployment.config, config);
  const agentId = options.agentId ?? 'assistant';
  const { directory } = deployment;
  const admin = (...args: string[]) => okIn(directory, {}, ...args, '--config', deployment.config);
  admin('keys', 'generate');
  admin('agents', 'create', agentId, '--owner', 'olivia', '--scopes', options.scopes ?? `${REMOTE_SERVER}/*`);
  const session = `run-${Math.random().toString(36).slice(2, 10)}`;
  const token = admin('agents', 'token', agentId, '--session', session).trim();
  const root = admin('users', 'create', 'root', '--role', 'admin').trim();
  const ann = okIn(
    directory,
    { REINS_TOKEN: root },
    'users',
    'create',
    'ann',
    '--role',
    'approver',
    '--config',
    deployment.config,
  ).trim();
  const gateway = await spawnGateway(deployment.config);
  const url = gateway.endpoint.replace(/\/mcp$/, '');
  const as = (user: string, ...args: string[]) =>
    okIn(directory, { REINS_TOKEN: user }, ...args, '--config', deployment.config);
  return {
    deployment,
    gateway,
    url,
    token,
    agentId,
    session,
    token2: (other) => admin('agents', 'token', agentId, '--session', other).trim(),
    pending: () => JSON.parse(admin('approvals', 'list', '--status', 'pending', '--format', 'json')),
    vote: (id, verdict) => as(ann, 'approvals', verdict, id, '--reason', `${verdict}d in a test`),
    reins: (...args) => as(root, ...args),
    verify: () => {
      const run = reinsIn(directory, {}, 'audit', 'verify', '--config', deployment.config);
      return { code: run.code, out: run.stdout + run.stderr };
    },
    records: () =>
      admin('audit', 'query', '--session', session, '--limit', '10000', '--format', 'json')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const record = JSON.parse(line);
          return record.event ?? record;
        }),
    close: async () => {
      await gateway.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
