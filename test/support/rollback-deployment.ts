/**
 * @module test/support/rollback-deployment
 * A deployment for rollback tests (issue 16): a real `reins gateway` process in front of the real
 * `@modelcontextprotocol/server-filesystem` (on a work directory) and `server-memory` from npm, with
 * the built-in reversal profiles applied, one agent, an admin who rolls back and a viewer who may not.
 * Agents connect with the official SDK client over Streamable HTTP, one credential per session;
 * `reins rollback` runs as its own process, as an operator runs it from a terminal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  type CliRun,
  createDeployment,
  type Deployment,
  MEMORY_SERVER,
  okIn,
  REINS_BIN,
  reinsIn,
} from './deployment-fixture.js';
import { connectHttp } from './http-gateway.js';
import { type SpawnedGateway, spawnGateway } from './spawned-gateway.js';
import { textOf } from './tool-result-text.js';

export const FILESYSTEM_SERVER = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-filesystem/dist/index.js',
);

/** The catalogue and rules of a deployment whose agents edit files and notes, and may be rolled back. */
export const ROLLBACK_POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback }
tools:
  - { server: fs, name: "read_*", risk: low, effects: [read] }
  - { server: fs, name: "list_*", risk: low, effects: [read] }
  - { server: fs, name: get_file_info, risk: low, effects: [read] }
  - { server: fs, name: "*", risk: medium, effects: [write] }
  - { server: memory, name: read_graph, risk: low, effects: [read] }
  - { server: memory, name: open_nodes, risk: low, effects: [read] }
  - { server: memory, name: search_nodes, risk: low, effects: [read] }
  - { server: memory, name: "*", risk: medium, effects: [write] }
  - { server: fs, name: publish, risk: high, effects: [external], reversal: { external: a published page cannot be recalled } }
rules:
  - { id: work, effect: allow, reason: the agent edits files and notes, tool: { server: [fs, memory] } }
rollback:
  profiles:
    - { profile: server-filesystem, server: fs }
    - { profile: server-memory, server: memory }
`;

export interface RollbackDeployment {
  readonly deployment: Deployment;
  readonly gateway: SpawnedGateway;
  /** The filesystem server's allowed directory (real path). */
  readonly work: string;
  /** server-memory's file (MEMORY_FILE_PATH). */
  readonly memoryFile: string;
  readonly agentId: string;
  /** An MCP client of the agent in `session` (a credential bound to it). */
  connect(session: string): Promise<Client>;
  /** `reins rollback ...` as the admin (or `as`: `viewer`), in its own process; never throws. */
  rollback(args: readonly string[], as?: 'admin' | 'viewer'): CliRun;
  /** `reins rollback ...` as the admin, started in the background (to be killed, or awaited). */
  startRollback(args: readonly string[]): RunningCli;
  /** Any `reins` command on the deployment as the admin; throws on failure. */
  reins(...args: string[]): string;
  /** The audit records of `session` (of one kind, if given), oldest first, as `reins audit query` reads them. */
  records<T = Record<string, unknown>>(session: string, kind?: string): T[];
  close(): Promise<void>;
}

/** A CLI process running in the background. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** What it wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Resolves once it ended: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RollbackDeploymentOptions {
  /** The policy (default ROLLBACK_POLICY). */
  readonly policy?: string;
  /** Appended to reins.yaml (e.g. `limits: ...`). */
  readonly extra?: string;
  /** The agent's roles (e.g. `tenant:acme` for the memory guard). */
  readonly agentRoles?: string;
  /** A PostgreSQL URL for the store (default: a SQLite file). */
  readonly databaseUrl?: string;
}

export async function startRollbackDeployment(
  options: RollbackDeploymentOptions = {},
): Promise<RollbackDeployment> {
  const deployment = createDeployment({ policy: options.policy ?? ROLLBACK_POLICY });
  const { directory } = deployment;
  mkdirSync(join(directory, 'work'));
  const work = realpathSync(join(directory, 'work'));
  writeFileSync(
    deployment.config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: ${options.databaseUrl ? `{ databaseUrl: ${JSON.stringify(options.databaseUrl)} }` : '{ sqlite: state/audit.db }'}
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
upstreams:
  - name: fs
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(work)}] }
  - name: memory
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(MEMORY_SERVER)}], env: { MEMORY_FILE_PATH: ${JSON.stringify(join(directory, 'memory.jsonl'))} } }
listen: { host: 127.0.0.1, port: 0 }
${options.extra ?? ''}`,
  );
  const agentId = 'editor';
  const admin = (...args: string[]) => okIn(directory, {}, ...args, '--config', deployment.config);
  admin('keys', 'generate');
  const roles = options.agentRoles === undefined ? [] : ['--roles', options.agentRoles];
  admin('agents', 'create', agentId, '--owner', 'olivia', '--scopes', 'fs/*,memory/*', ...roles);
  const root = admin('users', 'create', 'root', '--role', 'admin').trim();
  const viewer = okIn(
    directory,
    { REINS_TOKEN: root },
    'users',
    'create',
    'vic',
    '--role',
    'viewer',
    '--config',
    deployment.config,
  ).trim();
  const gateway = await spawnGateway(deployment.config);
  const clients: Client[] = [];
  return {
    deployment,
    gateway,
    work,
    memoryFile: join(directory, 'memory.jsonl'),
    agentId,
    connect: async (session) => {
      const token = admin('agents', 'token', agentId, '--session', session).trim();
      const client = await connectHttp(gateway.endpoint, token);
      clients.push(client);
      return client;
    },
    rollback: (args, as = 'admin') =>
      reinsIn(
        directory,
        { REINS_TOKEN: as === 'admin' ? root : viewer },
        'rollback',
        ...args,
        '--config',
        deployment.config,
      ),
    startRollback: (args) =>
      startCli(directory, { REINS_TOKEN: root }, ['rollback', ...args, '--config', deployment.config]),
    records: <T>(session: string, kind?: string) =>
      okIn(
        directory,
        { REINS_TOKEN: root },
        'audit',
        'query',
        '--session',
        session,
        ...(kind ? ['--kind', kind] : []),
        '--limit',
        '10000',
        '--format',
        'json',
        '--config',
        deployment.config,
      )
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const record = JSON.parse(line);
          return (record.event ?? record) as T;
        }),
    reins: (...args) => okIn(directory, { REINS_TOKEN: root }, ...args, '--config', deployment.config),
    close: async () => {
      for (const client of clients) await client.close().catch(() => {});
      await gateway.stop();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Calls `server__tool` and fails the test on a refusal or a tool error. */
export async function callOk(
  client: Client,
  tool: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const result = (await client.callTool({ name: tool, arguments: args })) as CallToolResult;
  if (result.isError) throw new Error(`${tool} failed: ${textOf(result)}`);
  return result;
}

/**
 * Every file and directory under `root` with its bytes (directories as `<dir>`), ignoring Reins' trash
 * folders: what "byte for byte the same" compares.
 */
export function snapshot(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (relative: string) => {
    for (const name of readdirSync(join(root, relative)).sort()) {
      if (name === '.reins-trash') continue;
      const path = relative === '' ? name : `${relative}/${name}`;
      if (statSync(join(root, path)).isDirectory()) {
        entries[path] = '<dir>';
        walk(path);
      } else entries[path] = readFileSync(join(root, path)).toString('base64');
    }
  };
  walk('');
  return entries;
}

/** Runs the built CLI in the background in `cwd`, with `env` on a clean environment. */
export function startCli(cwd: string, env: Record<string, string>, args: readonly string[]): RunningCli {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^REINS_/.test(name)));
  const child = spawn(process.execPath, [REINS_BIN, ...args], {
    cwd,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, output: () => ({ stdout, stderr }), exited };
}

/** server-memory's knowledge graph, compared as sets: entities with their observations, and relations. */
export interface GraphSets {
  /** `name (type)` → its observations, sorted, without duplicates. */
  readonly entities: Record<string, string[]>;
  /** `from -relationType-> to`, sorted, without duplicates. */
  readonly relations: string[];
}

interface GraphLike {
  readonly entities: readonly { name: string; entityType: string; observations: readonly string[] }[];
  readonly relations: readonly { from: string; to: string; relationType: string }[];
}

/** A graph as sets (the order in which the server keeps entries is not state a rollback restores). */
export function graphSets(graph: GraphLike): GraphSets {
  const entities: Record<string, string[]> = {};
  for (const entity of [...graph.entities].sort((a, b) => a.name.localeCompare(b.name)))
    entities[`${entity.name} (${entity.entityType})`] = [...new Set(entity.observations)].sort();
  const relations = [
    ...new Set(
      graph.relations.map((relation) => `${relation.from} -${relation.relationType}-> ${relation.to}`),
    ),
  ].sort();
  return { entities, relations };
}

/** The graph as server-memory stores it in its file (names as stored: with a tenant's prefix, if any). */
export function memoryFileGraph(file: string): GraphSets {
  const graph: { entities: GraphLike['entities'][number][]; relations: GraphLike['relations'][number][] } = {
    entities: [],
    relations: [],
  };
  if (!existsSync(file)) return graphSets(graph);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const item = JSON.parse(line);
    if (item.type === 'entity') graph.entities.push(item);
    else if (item.type === 'relation') graph.relations.push(item);
  }
  return graphSets(graph);
}

export { textOf };
