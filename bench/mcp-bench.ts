/**
 * @module bench/mcp-bench
 * Setup shared by the benchmarks that drive real MCP servers, directly and through `reins mcp`, with
 * the official SDK client over stdio (bench/gateway-latency, bench/rollback-capture): temporary
 * directories and child processes that are cleaned up on exit, a store with the bench agent, the
 * arguments of `reins mcp`, paths timed in turns (so bursts of other work on a shared machine hit
 * them alike), CPU time per process from /proc, and one durable audit append at a time.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CheckpointSigner } from '../src/audit/checkpoint.js';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import type { CapturedContent } from '../src/store/audit-log.js';
import { SqliteAuditLog } from '../src/store/sqlite/sqlite-audit-log.js';
import { SqliteIdentityStore } from '../src/store/sqlite/sqlite-identity-store.js';
import { intentEvent } from '../test/support/audit-fixtures.js';
import { type Summary, summarise } from './measure.js';

// compiled to dist-bench/bench/: the repository is two levels up
export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'reins.js');
/** Children never reach a database named in the environment: each path has its own SQLite store. */
export const ENV = { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '' };

/** Children, clients and directories of this run: killed, closed and removed on exit, whatever happens. */
export const children = new Set<import('node:child_process').ChildProcess>();
const clients: Client[] = [];
const directories: string[] = [];
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

export function temporaryDirectory(parent: string, prefix: string): string {
  const directory = mkdtempSync(join(parent, prefix));
  directories.push(directory);
  return directory;
}

/** Removes this run's temporary directories now (at the end of a run that went well). */
export function removeTemporaryDirectories(): void {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
}

const FILESYSTEMS = new Map<number, string>([
  [0x01021994, 'tmpfs'],
  [0xef53, 'ext2/3/4'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x794c7630, 'overlayfs'],
]);
export function filesystemOf(path: string): string {
  const type = statfsSync(path).type;
  return FILESYSTEMS.get(type) ?? `fs type 0x${type.toString(16)}`;
}

/** CPU time (user + system, all threads) a process has used so far, in µs (Linux /proc, 100 ticks/s). */
export function cpuMicros(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10_000 : undefined;
  } catch {
    return undefined;
  }
}

/** µs per call between two readings, or undefined. */
export function perCall(
  before: number | undefined,
  after: number | undefined,
  calls: number,
): number | undefined {
  return before === undefined || after === undefined ? undefined : (after - before) / calls;
}

/** An MCP client on one path to a tool: direct to the server, or through a gateway. */
export interface Path {
  readonly label: string;
  readonly client: Client;
  /** The tool as this path names it (`<server>__<tool>` through Reins). */
  readonly tool: string;
  /** The process that answers this client (the server, a relay or the gateway), for its CPU time. */
  readonly pid?: number | undefined;
}

export async function connect(client: Client, transport: Parameters<Client['connect']>[0], what: string) {
  await Promise.race([
    client.connect(transport),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: no answer in 30 s`)), 30_000).unref(),
    ),
  ]);
  clients.push(client);
  return client;
}

/** An SDK client that spawns `node <args>` over stdio, in `cwd` (whatever the child writes stays there). */
export async function stdioPath(
  label: string,
  tool: string,
  args: readonly string[],
  cwd: string,
): Promise<Path> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [...args],
    env: ENV,
    stderr: 'pipe',
    cwd,
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  try {
    const client = await connect(new Client({ name: 'reins-bench', version: '0.1.0' }), transport, label);
    return { label, client, tool, pid: transport.pid ?? undefined };
  } catch (error) {
    throw new Error(`${label}: did not start: ${String(error)}\n${stderr}`);
  }
}

export async function closeClients(group: readonly Client[]): Promise<void> {
  await Promise.all(group.map((client) => client.close().catch(() => {})));
  for (const client of group) clients.splice(clients.indexOf(client), 1);
}

export async function closeAllClients(): Promise<void> {
  await closeClients([...clients]);
}

export interface Measured {
  readonly latency: Summary;
  /** CPU (all threads) the answering process used per call, in µs; undefined without /proc. */
  readonly cpuUs: number | undefined;
}

export interface Interleaving {
  readonly warmup: number;
  /** Paths take turns in blocks of this many calls. */
  readonly block: number;
}

/**
 * Warms every path up, then times `calls` sequential calls per path (`call` makes one and returns its
 * µs), the paths taking turns by block; the CPU of each answering process is read around its blocks.
 */
export async function measureInterleaved<P extends Path>(
  paths: readonly P[],
  calls: number,
  call: (path: P) => Promise<number>,
  { warmup, block }: Interleaving,
): Promise<Measured[]> {
  for (const path of paths) for (let index = 0; index < warmup; index++) await call(path);
  const samples = paths.map(() => new Float64Array(calls));
  const cpu = paths.map((): number | undefined => 0);
  for (let offset = 0; offset < calls; offset += block) {
    for (const [which, path] of paths.entries()) {
      const into = samples[which] as Float64Array;
      const before = cpuMicros(path.pid);
      for (let index = offset; index < Math.min(calls, offset + block); index++)
        into[index] = await call(path);
      const used = perCall(before, cpuMicros(path.pid), 1);
      const sum = cpu[which];
      cpu[which] = used === undefined || sum === undefined ? undefined : sum + used;
    }
  }
  return samples.map((run, which) => {
    const used = cpu[which];
    return { latency: summarise(run), cpuUs: used === undefined ? undefined : used / calls };
  });
}

/**
 * A store directory: `policy.yaml`, and `reins.db` with the agent registered. Returns the identity
 * store, open (to issue credentials); the caller closes it.
 */
export async function registerAgent(
  directory: string,
  { policy, agent, scopes }: { policy: string; agent: string; scopes: readonly string[] },
): Promise<SqliteIdentityStore> {
  writeFileSync(join(directory, 'policy.yaml'), policy);
  const identity = new SqliteIdentityStore({ path: join(directory, 'reins.db') });
  await new AgentRegistry(identity).create({ id: agent, owner: 'bench@example.com', scopes: [...scopes] });
  return identity;
}

export interface ReinsMcp {
  /** The store directory (policy.yaml, reins.db, reins.lock). */
  readonly store: string;
  readonly agent: string;
  /** The upstream's name in the policy. */
  readonly name: string;
  /** The upstream's command after `node`. */
  readonly upstream: readonly string[];
  readonly nodeOptions?: readonly string[];
  /** bin/reins.js of the build to run (default: this checkout). */
  readonly bin?: string | undefined;
  /** Passed as `--durability` when given; older builds know only `full` and `process`. */
  readonly durability?: 'causal' | 'full' | 'process';
}

/** `node [options] bin/reins.js mcp ... -- node <upstream...>`, as a desktop client runs it. */
export function reinsMcpArgs(options: ReinsMcp): string[] {
  const { store } = options;
  return [
    ...(options.nodeOptions ?? []),
    options.bin ?? BIN,
    'mcp',
    // without the flag each build runs its own default (`causal` from issue 20 on, `full` before)
    ...(options.durability !== undefined ? ['--durability', options.durability] : []),
    '--agent',
    options.agent,
    '--policy',
    join(store, 'policy.yaml'),
    '--db',
    join(store, 'reins.db'),
    '--name',
    options.name,
    '--lock',
    join(store, 'reins.lock'),
    '--',
    process.execPath,
    ...options.upstream,
  ];
}

/** Chain-verifies a store's audit log (`<store>/reins.db`) once its gateway has stopped; returns the records checked. */
export async function auditRecords(store: string): Promise<number> {
  const log = new SqliteAuditLog({ path: join(store, 'reins.db'), readOnly: true });
  const report = await log.verify();
  await log.close();
  if (!report.ok) throw new Error(`audit log in ${store} does not verify: ${JSON.stringify(report)}`);
  return report.checked;
}

/** Probe files of this run are numbered. */
let probes = 0;

/** `bytes` appended and fsync'd in `directory`, as the audit log's WAL does at every commit. */
export function rawFsync(
  directory: string,
  iterations: number,
  options: { warmup: number; bytes: number },
): Summary {
  const file = join(directory, `fsync-probe-${++probes}`);
  const descriptor = openSync(file, 'a');
  const record = Buffer.alloc(options.bytes, 0x61);
  const samples = new Float64Array(iterations);
  try {
    for (let index = -options.warmup; index < iterations; index++) {
      const started = process.hrtime.bigint();
      writeSync(descriptor, record);
      fsyncSync(descriptor);
      if (index >= 0) samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
    }
  } finally {
    closeSync(descriptor);
    rmSync(file, { force: true });
  }
  return summarise(samples);
}

/**
 * One durable append at a time to a signed SQLite audit log in `directory` (as `reins mcp` opens it),
 * each intent with the contents `captured(index)` gives (none by default): what a call waits for.
 * Returns the µs of each timed append.
 */
export async function durableAppendSamples(
  directory: string,
  iterations: number,
  options: { warmup: number; agent: string; captured?: (index: number) => readonly CapturedContent[] },
): Promise<Float64Array> {
  const log = new SqliteAuditLog({
    path: join(directory, `append-probe-${++probes}.db`),
    signer: new CheckpointSigner(generateKeyPairSync('ed25519').privateKey),
  });
  const samples = new Float64Array(iterations);
  try {
    for (let index = -options.warmup; index < iterations; index++) {
      const event = intentEvent(index + options.warmup, { sessionId: 'bench-0', agentId: options.agent });
      const captured = options.captured?.(index + options.warmup);
      const started = process.hrtime.bigint();
      await log.append(event, captured === undefined ? undefined : { captured });
      if (index >= 0) samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
    }
  } finally {
    await log.close();
  }
  return samples;
}

/** `durableAppendSamples`, summarised. */
export async function durableAppend(
  directory: string,
  iterations: number,
  options: { warmup: number; agent: string },
): Promise<Summary> {
  return summarise(await durableAppendSamples(directory, iterations, options));
}
