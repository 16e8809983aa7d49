/**
 * @module test/support/stateful-deployment
 * A deployment whose policy depends on what happened before (issue 14): a daily count per agent, a
 * running total per session, "pay only after lookup", "never send after reading the inbox", a flow rule
 * on a payee found in untrusted text, a rule on the session's labels, and approvals that a human
 * refuses or that expire. Its upstreams are one real server-everything (test/support/everything-server)
 * under three names, standing in for a CRM, a bank and a mailbox: remote services that every replica
 * reaches. The store is a SQLite file or a PostgreSQL URL, and every process of the deployment reads the
 * same explicit key sources (a credential key directory, a checkpoint key file), never a default in its
 * working directory. Agents and credentials are made on the deployment's store and keys with the
 * library (what `reins agents create|token` run; a CLI process each would cost seconds per test).
 *
 * The tools, by role (tool names need not be realistic; the rules are):
 *   crm/echo       look up an invoice (`message`)          daily count per agent
 *   crm/get-sum    export the customer list                refused once the session read untrusted text
 *   bank/get-sum   pay `a` (amount) to payee `b`            only after a lookup; running total per session
 *                                                          and a count per agent; approvals (below)
 *   bank/echo      transfer to the payee in `message`       a sink: refused when the payee comes from the inbox
 *   mail/echo      read the inbox (untrusted text)
 *   mail/get-sum   send a mail                              never after reading the inbox
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentRegistry } from '../../src/auth/agent-registry.js';
import { Authenticator } from '../../src/auth/authenticator.js';
import { createKeyDirectory } from '../../src/keys/key-directory.js';
import { directoryKeySource } from '../../src/keys/key-source.js';
import { PostgresIdentityStore } from '../../src/store/postgres/postgres-identity-store.js';
import { SqliteIdentityStore } from '../../src/store/sqlite/sqlite-identity-store.js';
import type { IdentityStore } from '../../src/store/state-stores.js';
import { REINS_BIN } from './deployment-fixture.js';

/** The budgets of the policy; each test picks numbers that fit its run. */
export interface StatefulLimits {
  /** Lookups per agent per day. */
  readonly lookupsPerAgent: number;
  /** Payments per agent per day (a count). */
  readonly paymentsPerAgent: number;
  /** Sum of the amounts paid per session per day. */
  readonly spendPerSession: number;
}

/** Payees the agent pays without asking; any other payee needs a human. */
export const KNOWN_PAYEES = [1, 2, 3] as const;
/** A payment of at least this much needs a human within a second, else it expires (= refused). */
export const LARGE_PAYMENT = 100_000;

/** The policy. Every reason starts with its rule id, so a test can tell which rule refused a call. */
export function statefulPolicy(limits: StatefulLimits): string {
  return `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stateful-guarantees }
tools:
  - { server: crm, name: echo, risk: low, effects: [read] }
  - { server: crm, name: get-sum, risk: medium, effects: [read] }
  - { server: bank, name: get-sum, risk: high, effects: [write, external] }
  - { server: bank, name: echo, risk: high, effects: [write, external], sink: { args: [message] } }
  - { server: mail, name: echo, risk: low, effects: [read], untrustedOutput: true }
  - { server: mail, name: get-sum, risk: medium, effects: [external] }
rules:
  - id: assistant-tools
    effect: allow
    tool: { server: [crm, bank, mail], name: [echo, get-sum] }
    reason: assistant-tools the assistant's tools
  - id: new-payee
    effect: approve
    tool: { server: bank, name: get-sum }
    when: '!(args.b in [${KNOWN_PAYEES.map((payee) => `${payee}.0`).join(', ')}])'
    reason: new-payee a payment to a payee not on the list needs a human
  - id: large-payment
    effect: approve
    tool: { server: bank, name: get-sum }
    when: 'args.a >= ${LARGE_PAYMENT}.0'
    approval: { expires: 1s }
    reason: large-payment a large payment needs a human at once
  - id: no-export-after-untrusted
    effect: deny
    tool: { server: crm, name: get-sum }
    when: '"untrusted" in session.labels'
    reason: no-export-after-untrusted no export once the session has read text others wrote
sequences:
  - id: pay-after-lookup
    tool: { server: bank, name: get-sum }
    requires: { tool: { server: crm, name: echo }, within: 1h }
    reason: pay-after-lookup a payment must follow a lookup of the invoice
  - id: no-send-after-inbox
    tool: { server: mail, name: get-sum }
    forbids: { tool: { server: mail, name: echo } }
    reason: no-send-after-inbox nothing is sent once the session has read the inbox
limits:
  - id: lookups-per-agent
    tool: { server: crm, name: echo }
    per: [agent]
    window: 24h
    max: ${limits.lookupsPerAgent}
    reason: lookups-per-agent at most ${limits.lookupsPerAgent} lookups a day per agent
  - id: payments-per-agent
    tool: { server: bank, name: get-sum }
    per: [agent]
    window: 24h
    max: ${limits.paymentsPerAgent}
    reason: payments-per-agent at most ${limits.paymentsPerAgent} payments a day per agent
  - id: spend-per-session
    tool: { server: bank, name: get-sum }
    per: [session]
    window: 24h
    max: ${limits.spendPerSession}
    sum: args.a
    reason: spend-per-session at most ${limits.spendPerSession} paid per session
flows:
  - id: payee-from-inbox
    tool: { server: bank, name: echo }
    effect: deny
    reason: payee-from-inbox the payee was found only in text others wrote
`;
}

export type StoreChoice = { readonly sqlite: string } | { readonly databaseUrl: string };

export interface StatefulDeployment {
  readonly directory: string;
  /** reins.yaml: every gateway process of the deployment starts from it. */
  readonly config: string;
  readonly store: StoreChoice;
  readonly credentialKeys: string;
}

export interface DeploymentOptions {
  readonly store: 'sqlite' | { readonly databaseUrl: string };
  readonly limits: StatefulLimits;
  /** The Streamable HTTP URL of server-everything (test/support/everything-server). */
  readonly upstream: string;
}

/** Writes the deployment (policy, keys, reins.yaml) into a new temporary directory. */
export function createStatefulDeployment(options: DeploymentOptions): StatefulDeployment {
  const directory = mkdtempSync(join(tmpdir(), 'reins-stateful-'));
  writeFileSync(join(directory, 'policy.yaml'), statefulPolicy(options.limits));
  // one deployment, one identity: every replica reads these, none creates its own
  const credentialKeys = join(directory, 'keys', 'credentials');
  createKeyDirectory(credentialKeys);
  const checkpointKey = generateKeyPairSync('ed25519')
    .privateKey.export({ format: 'pem', type: 'pkcs8' })
    .toString();
  writeFileSync(join(directory, 'keys', 'checkpoints.pem'), checkpointKey, { mode: 0o600 });
  mkdirSync(join(directory, 'state'));
  const store: StoreChoice =
    options.store === 'sqlite' ? { sqlite: join(directory, 'state', 'reins.db') } : options.store;
  const upstream = (name: string) =>
    `  - { name: ${name}, http: { url: ${JSON.stringify(options.upstream)} } }`;
  const config = join(directory, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: ${'sqlite' in store ? `{ sqlite: state/reins.db }` : `{ databaseUrl: ${JSON.stringify(store.databaseUrl)} }`}
keys:
  credentials: { directory: keys/credentials }
  checkpoints: { file: keys/checkpoints.pem }
lock: state/reins.lock
upstreams:
${['crm', 'bank', 'mail'].map(upstream).join('\n')}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
limits: { callTimeout: 20s, approvalTimeout: 30s }
`,
  );
  return { directory, config, store, credentialKeys };
}

/** The deployment's agents and their credentials, on its store and credential keys. */
export interface DeploymentIdentity {
  /** Registers an agent that may use every tool of the deployment. */
  createAgent(agent: string): Promise<void>;
  /**
   * A credential of `agent` bound to the Reins session `session`: every MCP session opened with it, on
   * any replica, belongs to that one Reins session.
   */
  credential(agent: string, session: string): Promise<string>;
  close(): Promise<void>;
}

export async function openDeploymentIdentity(deployment: StatefulDeployment): Promise<DeploymentIdentity> {
  const store: IdentityStore =
    'sqlite' in deployment.store
      ? new SqliteIdentityStore({ path: deployment.store.sqlite })
      : await PostgresIdentityStore.open({ connectionString: deployment.store.databaseUrl });
  const auth = await Authenticator.open({ store, keys: directoryKeySource(deployment.credentialKeys) });
  const registry = new AgentRegistry(store);
  return {
    createAgent: async (agent) => {
      await registry.create({ id: agent, owner: 'olivia@example.com', scopes: ['*'] });
    },
    credential: async (agent, session) =>
      (await auth.issue(agent, { sessionId: session, ttlSeconds: 3_600 })).token,
    close: async () => {
      auth.close();
      await store.close();
    },
  };
}

/**
 * Runs the built CLI on the deployment as the user whose API token is `token` ('' = none), without
 * blocking this process (gateways and clients go on meanwhile); rejects with its error output.
 */
export function operateAs(deployment: StatefulDeployment, token: string, ...args: string[]): Promise<string> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [REINS_BIN, ...args, '--config', deployment.config],
      { cwd: deployment.directory, env: { ...clean, REINS_TOKEN: token }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`reins ${args.join(' ')} failed: ${stderr || error.message}`));
        else resolve(stdout);
      },
    );
  });
}

/** Creates an admin and an approver with the CLI; resolves with the approver's user API token. */
export async function createApprover(deployment: StatefulDeployment): Promise<string> {
  const admin = (
    await operateAs(deployment, '', 'users', 'create', 'root@example.com', '--role', 'admin')
  ).trim();
  return (
    await operateAs(deployment, admin, 'users', 'create', 'ann@example.com', '--role', 'approver')
  ).trim();
}
