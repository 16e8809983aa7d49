/**
 * @module bench/gateway-latency
 * What the MCP gateway adds to a tool call, with real processes on both sides: the official SDK client
 * calls `echo` of `@modelcontextprotocol/server-everything` (a tool that does nothing) directly, and
 * through Reins (`reins mcp` over stdio, `reins gateway` over Streamable HTTP). Every call through Reins
 * is decided and waits for its intent to be durable before the tool runs (SQLite, WAL, `causal`
 * durability: decision 0028; the outcome reaches the disk with the next intent's fsync).
 *
 * Measured in one run, all on 127.0.0.1:
 * 1. latency, stdio: direct vs via `reins mcp`; 3,000 sequential calls per path, timed one by one;
 * 2. latency, HTTP: direct vs via `reins gateway`; the same;
 * 3. throughput, HTTP: 16 concurrent clients for 10 s per path (or 200,000 calls), via Reins vs direct,
 *    the paths taking turns (two turns of 5 s each).
 * Peers and diagnostics in the same run, to say where the added time goes:
 * - a bare relay (this file with `--relay-stdio` / `--relay-http`): an SDK Server that forwards every
 *   call to an SDK Client of the upstream, as the gateway does, with nothing else: the cost of the hop;
 * - the same relay writing each call to SQLite (`--journal`: a row fsync'd before the call is forwarded,
 *   one after, the next fsync covering it): the storage floor of any durable gateway, no governance;
 * - the same gateways with their audit log on tmpfs, where fsync costs nothing (a measurement, not a
 *   deployment option);
 * - a raw fsync in the audit directory, and one durable `SqliteAuditLog.append` at a time;
 * - the gateways with `durability: process` (commits not fsync'd one by one: survives a crash of Reins,
 *   not of the machine; decision 0010), a weaker mode that is not the default and labelled so;
 * - throughput of `reins gateway` with server-everything behind it over stdio instead of HTTP;
 * - with `--baseline <dir>`: the same default paths served by another build of Reins (a checkout with
 *   its own `dist/`, e.g. the commit before a change), for a before/after in one run.
 *
 * Run: npm run bench:gateway [-- --quick] [-- --profile] [-- --baseline <dir>]
 * (builds dist/ first: the gateways run as `node bin/reins.js`, as users run them). `--profile` then
 * runs `reins mcp` (sequential calls), `reins gateway` (the same sequential calls, then the throughput
 * load) once more under `node --cpu-prof`, and prints where their threads spend the timed window. `--quick`: fewer calls, for a
 * smoke check, not for figures.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  isInitializeRequest,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { Authenticator } from '../src/auth/authenticator.js';
import { createKeyDirectory } from '../src/keys/key-directory.js';
import { directoryKeySource } from '../src/keys/key-source.js';
import {
  auditRecords,
  BIN,
  children,
  closeAllClients,
  closeClients,
  connect,
  cpuMicros,
  durableAppend,
  ENV,
  filesystemOf,
  type Measured,
  measureInterleaved,
  type Path,
  perCall,
  ROOT,
  rawFsync,
  registerAgent,
  reinsMcpArgs as reinsMcp,
  removeTemporaryDirectories,
  stdioPath as spawnStdioPath,
  temporaryDirectory,
} from './mcp-bench.js';
import { format, machine, type Summary, summarise } from './measure.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
const baselineIndex = argv.indexOf('--baseline');
const BASELINE = baselineIndex >= 0 ? resolve(argv[baselineIndex + 1] ?? '') : undefined;
const BASELINE_BIN = BASELINE && join(BASELINE, 'bin', 'reins.js');
const WARMUP = quick ? 50 : 200;
const CALLS = quick ? 500 : 3_000;
/** Paths take turns in blocks of this many calls, so bursts of other work on a shared machine hit them alike. */
const BLOCK = 10;
const CLIENTS = 16;
const THROUGHPUT_MS = quick ? 2_000 : 10_000;
/** The throughput loads take turns: each runs THROUGHPUT_MS in all, in this many parts. */
const THROUGHPUT_ROUNDS = 2;
const THROUGHPUT_MAX_CALLS = 200_000;
const AGENT = 'bench';
const MESSAGE = 'reins gateway bench';
const TARGETS = { stdioMedianUs: 300, stdioP99Us: 1_000, callsPerSecond: 3_000, httpOverRelayUs: 400 };
const CALL_TIMEOUT_MS = 60_000;

const SELF = fileURLToPath(import.meta.url);
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
/** server-everything's HTTP mode listens on every interface; this preload keeps it on 127.0.0.1. */
const LOOPBACK_ONLY = `data:text/javascript,${encodeURIComponent(
  `import net from 'node:net';
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (/^\\d+$/.test(String(args[0])) && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};`,
)}`;
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: gateway-bench }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - id: echo
    effect: allow
    principal: { agents: ${AGENT} }
    tool: { server: everything, name: echo }
    reason: the benchmark calls a harmless tool
`;

const write = (line: string) => process.stdout.write(`${line}\n`);
/** Where children run (set to the run's temporary directory): nothing they write lands in the repository. */
let workDirectory = tmpdir();

interface LatencyRow extends Measured {
  readonly transport: string;
  readonly label: string;
  readonly direct?: Summary;
}

interface ThroughputResult {
  readonly label: string;
  readonly calls: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly latency: Summary;
  /** Every call's time, µs. */
  readonly samples: Float64Array;
  /** When the timed part ran (monotonic µs). */
  readonly window: { readonly fromUs: number; readonly toUs: number };
  /** CPU µs per call: this process (the 16 clients), the relay or gateway, server-everything. */
  readonly cpuUs: { readonly clients: number; readonly middle?: number; readonly everything?: number };
}

function ownCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

function check(result: unknown, tool: string): void {
  const answer = result as CallToolResult;
  const first = answer.content?.[0];
  if (answer.isError || first?.type !== 'text' || first.text !== `Echo: ${MESSAGE}`)
    throw new Error(`unexpected answer from \`${tool}\`: ${JSON.stringify(result).slice(0, 400)}`);
}

async function callOnce(path: Path): Promise<number> {
  const started = process.hrtime.bigint();
  const result = await path.client.callTool({ name: path.tool, arguments: { message: MESSAGE } });
  const micros = Number(process.hrtime.bigint() - started) / 1_000;
  check(result, path.tool);
  return micros;
}

/** Warms every path up, then times `calls` sequential calls of `echo` per path, taking turns by block. */
async function measureEcho(paths: readonly Path[], calls: number): Promise<Measured[]> {
  return measureInterleaved(paths, calls, callOnce, { warmup: WARMUP, block: BLOCK });
}

/** Warms each client up with WARMUP calls. */
async function warmUp(group: readonly Path[]): Promise<void> {
  await Promise.all(
    group.map(async (path) => {
      for (let index = 0; index < WARMUP; index++) await callOnce(path);
    }),
  );
}

/** The clients of `group` call as fast as they can, together, for `durationMs`. */
async function throughput(
  label: string,
  group: readonly Path[],
  pids: { readonly middle?: number | undefined; readonly everything?: number | undefined },
  durationMs = THROUGHPUT_MS,
): Promise<ThroughputResult> {
  const samples = new Float64Array(THROUGHPUT_MAX_CALLS);
  let calls = 0;
  const clientsBefore = ownCpuMicros();
  const middleBefore = cpuMicros(pids.middle);
  const everythingBefore = cpuMicros(pids.everything);
  const fromUs = nowUs();
  const started = process.hrtime.bigint();
  const deadline = started + BigInt(durationMs) * 1_000_000n;
  await Promise.all(
    group.map(async (path) => {
      while (calls < THROUGHPUT_MAX_CALLS && process.hrtime.bigint() < deadline) {
        const index = calls++;
        samples[index] = await callOnce(path);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const window = { fromUs, toUs: nowUs() };
  const middle = perCall(middleBefore, cpuMicros(pids.middle), calls);
  const everything = perCall(everythingBefore, cpuMicros(pids.everything), calls);
  return {
    label,
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    latency: summarise(samples.subarray(0, calls)),
    samples: samples.slice(0, calls),
    window,
    cpuUs: {
      clients: (ownCpuMicros() - clientsBefore) / calls,
      ...(middle === undefined ? {} : { middle }),
      ...(everything === undefined ? {} : { everything }),
    },
  };
}

/** The parts of one load's run (its turns), as one result: calls, time and CPU added up. */
function combined(parts: readonly ThroughputResult[]): ThroughputResult {
  const calls = parts.reduce((sum, part) => sum + part.calls, 0);
  const seconds = parts.reduce((sum, part) => sum + part.seconds, 0);
  const samples = new Float64Array(calls);
  let at = 0;
  for (const part of parts) {
    samples.set(part.samples, at);
    at += part.calls;
  }
  const cpu = (key: 'clients' | 'middle' | 'everything') =>
    parts.some((part) => part.cpuUs[key] === undefined)
      ? undefined
      : parts.reduce((sum, part) => sum + (part.cpuUs[key] as number) * part.calls, 0) / calls;
  const middle = cpu('middle');
  const everything = cpu('everything');
  const first = parts[0] as ThroughputResult;
  return {
    label: first.label,
    calls,
    seconds,
    callsPerSecond: calls / seconds,
    latency: summarise(samples),
    samples,
    window: first.window,
    cpuUs: {
      clients: cpu('clients') as number,
      ...(middle === undefined ? {} : { middle }),
      ...(everything === undefined ? {} : { everything }),
    },
  };
}

/**
 * A store with the bench agent, and `sessions` credentials its gateway accepts. This build signs with
 * the gateway's default key directory (`.reins-keys/credentials` beside its reins.yaml, decision 0011);
 * a baseline build from before key custody keeps its key in the store, so its own CLI issues them.
 */
async function prepareStore(directory: string, sessions: number, build: ReinsBuild = {}): Promise<string[]> {
  const identity = await registerAgent(directory, { policy: POLICY, agent: AGENT, scopes: ['everything/*'] });
  const tokens: string[] = [];
  // a build with key custody (its dist/keys) takes credentials signed from the key directory, as this one
  const custody =
    build.bin === undefined ||
    existsSync(join(dirname(dirname(build.bin)), 'dist', 'keys', 'key-directory.js'));
  if (!custody && build.bin !== undefined) {
    await identity.close();
    for (let index = 0; index < sessions; index++) tokens.push(baselineToken(build.bin, directory, index));
    return tokens;
  }
  const keyDirectory = join(directory, '.reins-keys', 'credentials');
  createKeyDirectory(keyDirectory);
  const auth = await Authenticator.open({ store: identity, keys: directoryKeySource(keyDirectory) });
  for (let index = 0; index < sessions; index++)
    tokens.push((await auth.issue(AGENT, { sessionId: `bench-${index}`, ttlSeconds: 3_600 })).token);
  await auth.close();
  await identity.close();
  return tokens;
}

/** `reins agents token` of another build, on its own store. */
function baselineToken(bin: string, directory: string, index: number): string {
  const args = ['agents', 'token', AGENT, '--session', `bench-${index}`, '--ttl', '3600'];
  const result = spawnSync(process.execPath, [bin, ...args, '--db', join(directory, 'reins.db')], {
    cwd: directory,
    encoding: 'utf8',
    env: ENV,
  });
  if (result.status !== 0) throw new Error(`baseline \`reins agents token\` failed: ${result.stderr}`);
  return result.stdout.trim();
}

async function stdioPath(label: string, tool: string, args: readonly string[]): Promise<Path> {
  // whatever a child writes into its working directory stays in the temporary directory
  return spawnStdioPath(label, tool, args, workDirectory);
}

type Durability = 'full' | 'process';

interface ReinsBuild {
  /** bin/reins.js of the build to run (default: this checkout). */
  readonly bin?: string | undefined;
  readonly durability?: Durability;
}

function reinsMcpArgs(store: string, nodeOptions: readonly string[] = [], build: ReinsBuild = {}): string[] {
  return reinsMcp({
    store,
    agent: AGENT,
    name: 'everything',
    upstream: [EVERYTHING, 'stdio'],
    nodeOptions,
    bin: build.bin,
    ...(build.durability !== undefined ? { durability: build.durability } : {}),
  });
}

async function httpClient(url: string, token?: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(
    new URL(url),
    token ? { requestInit: { headers: { Authorization: `Bearer ${token}` } } } : undefined,
  );
  return connect(new Client({ name: 'reins-gateway-bench', version: '0.1.0' }), transport, url);
}

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

/** Spawns a child and waits for `pattern` on one of its output streams; the match's first group is returned. */
async function startChild(
  what: string,
  args: readonly string[],
  env: Record<string, string>,
  pattern: RegExp,
): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, args, { cwd: workDirectory, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  const match = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start in 30 s:\n${output}`)), 30_000);
    const listen = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
      const found = pattern.exec(output);
      if (found) {
        clearTimeout(timer);
        done(found[1] ?? found[0]);
      }
    };
    child.stdout?.on('data', listen);
    child.stderr?.on('data', listen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited with ${code}:\n${output}`));
    });
  });
  return { child, match };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** `upstream`: server-everything's Streamable HTTP URL, or `stdio` to have the gateway spawn it. */
async function startHttpGateway(
  store: string,
  upstream: string,
  nodeOptions: readonly string[] = [],
  build: ReinsBuild = {},
): Promise<{ child: ChildProcess; url: string }> {
  const config = join(store, 'reins.yaml');
  const upstreamConfig =
    upstream === 'stdio'
      ? `stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }`
      : `http: { url: ${JSON.stringify(upstream)} }`;
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db${build.durability === 'process' ? ', durability: process' : ''} }
upstreams:
  - name: everything
    ${upstreamConfig}
listen: { host: 127.0.0.1, port: 0, path: /mcp }
`,
  );
  const { child, match } = await startChild(
    'reins gateway',
    [...nodeOptions, build.bin ?? BIN, 'gateway', '--config', config],
    ENV,
    /listening on (\S+)/,
  );
  return { child, url: match };
}

// ---- the bare relay (peer): what any MCP proxy costs, without governance ----

/**
 * An SDK Server that lists the upstream's tools and forwards every call to it, and nothing else; with a
 * `journal`, each call is written down before it is forwarded and after it answered.
 */
function relayServer(
  upstream: Client,
  tools: Awaited<ReturnType<Client['listTools']>>['tools'],
  journal?: RelayJournal,
): Server {
  const server = new Server({ name: 'bench-relay', version: '0.1.0' }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const id = journal?.before(request.params);
    const result = (await upstream.callTool(
      { name: request.params.name, arguments: request.params.arguments ?? {} },
      undefined,
      { signal: extra.signal, timeout: CALL_TIMEOUT_MS },
    )) as CallToolResult;
    if (id !== undefined) journal?.after(id, result);
    return result;
  });
  return server;
}

interface RelayJournal {
  /** Writes the call down, durably, before it is forwarded; returns its row. */
  before(call: unknown): number;
  /** Writes the result down (committed, not fsync'd: the next call's fsync covers it). */
  after(id: number, result: unknown): void;
}

/**
 * The storage floor of a durable gateway, without any governance: one SQLite row (WAL) per call,
 * committed with an fsync before the call is forwarded, and one row for its result, committed without
 * (`synchronous` per transaction, on one connection: the next call's fsync covers it) — what decision
 * 0028 asks of Reins, with nothing else (no decision, chain, data flow or session state).
 */
function sqliteJournal(path: string): RelayJournal {
  const database = new Database(path);
  database.pragma('journal_mode = WAL');
  database.exec('create table if not exists calls (id integer primary key, body text not null)');
  const insert = database.prepare<[string], unknown>('insert into calls (body) values (?)');
  const durable = () => database.pragma('synchronous = FULL');
  const committed = () => database.pragma('synchronous = NORMAL');
  return {
    before(call) {
      durable();
      return Number(insert.run(JSON.stringify(call)).lastInsertRowid);
    },
    after(id, result) {
      committed();
      insert.run(JSON.stringify({ id, result }));
    },
  };
}

/**
 * The same floor with the least storage there is: one line appended to a plain file and fdatasync'd
 * before the call is forwarded, one line appended after (no fsync) — what the raw fsync row of the
 * benches costs, inside the pipeline.
 */
function fileJournal(path: string): RelayJournal {
  const fd = openSync(path, 'a');
  let calls = 0;
  return {
    before(call) {
      writeSync(fd, `${JSON.stringify(call)}\n`);
      fdatasyncSync(fd);
      return ++calls;
    },
    after(id, result) {
      writeSync(fd, `${JSON.stringify({ id, result })}\n`);
    },
  };
}

/**
 * `--relay-stdio [--journal <file.db> | --journal-file <file>] -- <command...>` or `--relay-http <upstream
 * url> [--journal <file.db>]`: runs the relay
 * until stopped; with `--journal`, a SQLite file where each call is written down (`sqliteJournal`).
 */
async function relay(mode: string, rest: readonly string[]): Promise<void> {
  const upstream = new Client({ name: 'bench-relay', version: '0.1.0' });
  if (mode === '--relay-stdio') {
    const [command, ...args] = rest.slice(rest.indexOf('--') + 1);
    if (command === undefined) throw new Error('--relay-stdio needs `-- <command...>`');
    const journalAt = rest.indexOf('--journal');
    const fileAt = rest.indexOf('--journal-file');
    const journal =
      journalAt >= 0
        ? sqliteJournal(rest[journalAt + 1] as string)
        : fileAt >= 0
          ? fileJournal(rest[fileAt + 1] as string)
          : undefined;
    await upstream.connect(new StdioClientTransport({ command, args, env: ENV, stderr: 'ignore' }));
    const server = relayServer(upstream, (await upstream.listTools()).tools, journal);
    const closed = new Promise<void>((done) => {
      server.onclose = () => done();
    });
    await server.connect(new StdioServerTransport());
    await closed;
    await upstream.close();
    return;
  }
  await upstream.connect(new StreamableHTTPClientTransport(new URL(rest[0] as string)));
  const tools = (await upstream.listTools()).tools;
  const httpJournalAt = rest.indexOf('--journal');
  const httpJournal = httpJournalAt >= 0 ? sqliteJournal(rest[httpJournalAt + 1] as string) : undefined;
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  // like the gateway's endpoint: the body is read and parsed here, then handed to the SDK transport
  const http = createHttpServer((request, response) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const header = request.headers['mcp-session-id'];
      const session = sessions.get(Array.isArray(header) ? (header[0] ?? '') : (header ?? ''));
      if (session) return session.handleRequest(request, response, body);
      if (!isInitializeRequest(body)) {
        response.statusCode = 400;
        return response.end();
      }
      const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, transport);
        },
      });
      await relayServer(upstream, tools, httpJournal).connect(transport);
      await transport.handleRequest(request, response, body);
    })().catch((error: unknown) => {
      process.stderr.write(`relay: ${String(error)}\n`);
      if (!response.headersSent) response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', () => done()));
  process.stdout.write(`relay listening on http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp\n`);
}

// ---- CPU profile summary (--profile) ----

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
}

function profileFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory)
    .filter((file) => file.endsWith('.cpuprofile'))
    .sort()
    .map((file) => join(directory, file));
}

function categoryOf(frame: ProfileNode['callFrame']): string {
  if (frame.functionName.startsWith('(')) return frame.functionName;
  if (frame.url === '') return '(native)';
  if (frame.url.includes('deps/undici/')) return 'undici (fetch)';
  if (frame.url.startsWith('node:')) return 'node core';
  const modules = frame.url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = frame.url.slice(modules + '/node_modules/'.length).split('/');
    return (parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]) ?? frame.url;
  }
  const file = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
  return `reins ${relative(join(ROOT, 'dist'), dirname(file)) || '.'}`;
}

/** Monotonic µs, the clock V8 stamps profile samples with. */
const nowUs = () => Number(process.hrtime.bigint() / 1_000n);

/** Self time per call of one thread's profile, counting only samples inside [fromUs, toUs]. */
function summariseProfile(file: string, window: { fromUs: number; toUs: number }, calls: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
  // node internals and native code are charged to the nearest caller outside them (a package, Reins)
  const internal = (category: string) => category === 'node core' || category === '(native)';
  /** The node itself, or the nearest caller outside node internals. */
  const ownerFrameOf = (node: ProfileNode): ProfileNode => {
    if (!internal(categoryOf(node.callFrame))) return node;
    for (let up = parents.get(node.id); up; up = parents.get(up.id)) {
      const category = categoryOf(up.callFrame);
      if (!internal(category) && category !== '(root)') return up;
    }
    return node;
  };
  const nameOf = (node: ProfileNode): string => {
    const where = node.callFrame.url
      ? ` ${node.callFrame.url.split('/').slice(-2).join('/')}:${node.callFrame.lineNumber + 1}`
      : '';
    return `${node.callFrame.functionName || '(anonymous)'}${where}`;
  };
  const byCategory = new Map<string, number>();
  const byFunction = new Map<string, number>();
  /** Reins' own functions, with the node internals they call (writes to sockets, say). */
  const byReinsFunction = new Map<string, number>();
  let total = 0;
  let at = profile.startTime;
  for (const [index, id] of profile.samples.entries()) {
    at += profile.timeDeltas[index] ?? 0;
    const node = byId.get(id);
    if (node === undefined || at < window.fromUs || at > window.toUs) continue;
    const micros = profile.timeDeltas[index + 1] ?? 0;
    total += micros;
    const owner = ownerFrameOf(node);
    const category = categoryOf(owner.callFrame);
    byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
    const key = nameOf(node);
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    if (category.startsWith('reins ')) {
      const reinsKey = nameOf(owner);
      byReinsFunction.set(reinsKey, (byReinsFunction.get(reinsKey) ?? 0) + micros);
    }
  }
  const thread = /\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
  write('');
  if (total === 0) {
    write(`thread ${thread}: no samples inside the timed window`);
    return;
  }
  const busy = total - (byCategory.get('(idle)') ?? 0);
  write(
    `thread ${thread} (${thread === '0' ? 'main' : 'worker: audit writer'}): ${format(total / 1e6)} s sampled in the timed window, busy ${format(busy / calls, 0)} µs per call`,
  );
  write('');
  const table = (title: string, entries: Map<string, number>, code: boolean) => {
    write(`| ${title} (self time) | µs per call | share of the window |`);
    write('| --- | ---: | ---: |');
    for (const [name, micros] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, 12))
      write(
        `| ${code ? `\`${name}\`` : name} | ${format(micros / calls, 1)} | ${format((100 * micros) / total, 1)}% |`,
      );
  };
  table('where (node internals charged to their caller)', byCategory, false);
  write('');
  table('function', byFunction, true);
  if (byReinsFunction.size === 0) return;
  write('');
  table("Reins' functions (node internals charged to them)", byReinsFunction, true);
}

// ---- the benchmark ----

const DIRECT = 'direct: SDK client → server-everything';
const RELAY = 'bare relay (peer): SDK client → SDK Server+Client relay, no governance → server-everything';
const TMPFS = 'via Reins, audit log on tmpfs (diagnostic: fsync costs nothing)';
const FLOOR = "durable relay (floor): the bare relay + one SQLite row fsync'd before forwarding, one after";
const PROCESS =
  "via Reins, durability: process (NOT the default: commits not fsync'd, survive a crash of Reins but not of the machine)";
const BEFORE = `via Reins, baseline build (${BASELINE ?? ''})`;

async function benchmark(): Promise<void> {
  const pkg = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm run bench:gateway does)');
  const diskRoot = tmpdir();
  const tmpfsRoot = process.platform === 'linux' && existsSync('/dev/shm') ? '/dev/shm' : undefined;
  const disk = temporaryDirectory(diskRoot, 'reins-gateway-bench-');
  workDirectory = disk;
  const tmpfs = tmpfsRoot ? temporaryDirectory(tmpfsRoot, 'reins-gateway-bench-') : undefined;
  if (BASELINE_BIN !== undefined && !existsSync(BASELINE_BIN))
    throw new Error(`--baseline: no ${BASELINE_BIN} (give a checkout with its dist/ built)`);
  const stores = {
    stdio: join(disk, 'stdio'),
    stdioTmpfs: tmpfs && join(tmpfs, 'stdio'),
    stdioProcess: join(disk, 'stdio-process'),
    stdioBaseline: BASELINE && join(disk, 'stdio-baseline'),
    http: join(disk, 'http'),
    httpTmpfs: tmpfs && join(tmpfs, 'http'),
    httpProcess: join(disk, 'http-process'),
    httpStdioUpstream: join(disk, 'http-stdio-upstream'),
    httpBaseline: BASELINE && join(disk, 'http-baseline'),
  };
  for (const store of Object.values(stores)) if (store) mkdirSync(store);

  write(`machine: ${machine()}`);
  write(`command: npm run bench:gateway${argv.length ? ` -- ${argv.join(' ')}` : ''}`);
  write(
    `inputs: upstream @modelcontextprotocol/server-everything ${pkg(join(dirname(EVERYTHING), '..', 'package.json'))}, tool \`echo\` ({"message": "${MESSAGE}"}); every client, and the relay, use @modelcontextprotocol/sdk ${pkg(join(ROOT, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))}`,
  );
  write(
    `inputs: latency: ${WARMUP} warm-up calls per path, then ${CALLS} sequential calls per path, each timed with hrtime around \`await client.callTool\`; the paths take turns in blocks of ${BLOCK}`,
  );
  write(
    `inputs: audit log: SQLite (WAL, durability causal: the intent fsync'd before the tool runs; signed checkpoint every 1,000 records) in ${disk} (${filesystemOf(disk)})${tmpfs ? `; tmpfs diagnostic in ${tmpfs}` : ''}`,
  );
  write(
    'inputs: the gateways, the relay and server-everything are child processes (the gateways as `node bin/reins.js mcp|gateway`, as users run them); traffic on 127.0.0.1 only',
  );

  const rows: LatencyRow[] = [];
  /** Calls made through each store's gateway: every one must have its intent and outcome on record. */
  const viaCalls = new Map<string, { name: string; calls: number }>();
  const count = (store: string | undefined, name: string, calls: number) => {
    if (store === undefined) return;
    const entry = viaCalls.get(store) ?? { name, calls: 0 };
    entry.calls += calls;
    viaCalls.set(store, entry);
  };
  const started: ChildProcess[] = [];
  try {
    // 1. stdio: the SDK client spawns server-everything, the relay or `reins mcp`, which spawn server-everything
    for (const store of [stores.stdio, stores.stdioTmpfs, stores.stdioProcess, stores.stdioBaseline])
      if (store) await prepareStore(store, 0);
    const stdioPaths: Path[] = [
      await stdioPath(DIRECT, 'echo', [EVERYTHING, 'stdio']),
      await stdioPath(RELAY, 'echo', [SELF, '--relay-stdio', '--', process.execPath, EVERYTHING, 'stdio']),
      await stdioPath(FLOOR, 'echo', [
        SELF,
        '--relay-stdio',
        '--journal',
        join(temporaryDirectory(disk, 'journal-'), 'calls.db'),
        '--',
        process.execPath,
        EVERYTHING,
        'stdio',
      ]),
      await stdioPath(
        'via Reins: SDK client → reins mcp → server-everything',
        'everything__echo',
        reinsMcpArgs(stores.stdio),
      ),
      await stdioPath(
        PROCESS,
        'everything__echo',
        reinsMcpArgs(stores.stdioProcess, [], { durability: 'process' }),
      ),
    ];
    if (stores.stdioTmpfs)
      stdioPaths.push(await stdioPath(TMPFS, 'everything__echo', reinsMcpArgs(stores.stdioTmpfs)));
    if (stores.stdioBaseline)
      stdioPaths.push(
        await stdioPath(
          BEFORE,
          'everything__echo',
          reinsMcpArgs(stores.stdioBaseline, [], { bin: BASELINE_BIN }),
        ),
      );
    const stdio = await measureEcho(stdioPaths, CALLS);
    await closeClients(stdioPaths.map((path) => path.client));
    count(stores.stdio, 'stdio', WARMUP + CALLS);
    count(stores.stdioProcess, 'stdio, durability process', WARMUP + CALLS);
    count(stores.stdioTmpfs, 'stdio, tmpfs', WARMUP + CALLS);
    count(stores.stdioBaseline, 'stdio, baseline build', WARMUP + CALLS);
    for (const [index, path] of stdioPaths.entries()) {
      const direct = index > 0 ? { direct: (stdio[0] as Measured).latency } : {};
      rows.push({ transport: 'stdio', label: path.label, ...(stdio[index] as Measured), ...direct });
    }

    // 2. Streamable HTTP: one server-everything; the relay and the gateways reach it over HTTP too
    const port = await freePort();
    const everything = (
      await startChild(
        'server-everything (streamableHttp)',
        ['--import', LOOPBACK_ONLY, EVERYTHING, 'streamableHttp'],
        { ...ENV, PORT: String(port) },
        /listening on port/,
      )
    ).child;
    started.push(everything);
    const upstream = `http://127.0.0.1:${port}/mcp`;
    const relayed = await startChild(
      'relay',
      [SELF, '--relay-http', upstream],
      ENV,
      /relay listening on (\S+)/,
    );
    started.push(relayed.child);
    const floorRelay = await startChild(
      'durable relay',
      [SELF, '--relay-http', upstream, '--journal', join(temporaryDirectory(disk, 'journal-'), 'calls.db')],
      ENV,
      /relay listening on (\S+)/,
    );
    started.push(floorRelay.child);
    // one for the latency client, CLIENTS for the throughput load, and (--profile) 1 + CLIENTS more
    const tokens = await prepareStore(stores.http, 2 + 2 * CLIENTS);
    const gateway = await startHttpGateway(stores.http, upstream);
    started.push(gateway.child);
    const processTokens = await prepareStore(stores.httpProcess, 1 + CLIENTS);
    const processGateway = await startHttpGateway(stores.httpProcess, upstream, [], {
      durability: 'process',
    });
    started.push(processGateway.child);
    const httpPaths: Path[] = [
      { label: DIRECT, client: await httpClient(upstream), tool: 'echo', pid: everything.pid },
      { label: RELAY, client: await httpClient(relayed.match), tool: 'echo', pid: relayed.child.pid },
      {
        label: FLOOR,
        client: await httpClient(floorRelay.match),
        tool: 'echo',
        pid: floorRelay.child.pid,
      },
      {
        label: 'via Reins: SDK client → reins gateway → server-everything',
        client: await httpClient(gateway.url, tokens[0]),
        tool: 'everything__echo',
        pid: gateway.child.pid,
      },
      {
        label: PROCESS,
        client: await httpClient(processGateway.url, processTokens[0]),
        tool: 'everything__echo',
        pid: processGateway.child.pid,
      },
    ];
    let tmpfsGateway: { child: ChildProcess; url: string } | undefined;
    if (stores.httpTmpfs) {
      const [token] = await prepareStore(stores.httpTmpfs, 1);
      tmpfsGateway = await startHttpGateway(stores.httpTmpfs, upstream);
      started.push(tmpfsGateway.child);
      httpPaths.push({
        label: TMPFS,
        client: await httpClient(tmpfsGateway.url, token),
        tool: 'everything__echo',
        pid: tmpfsGateway.child.pid,
      });
    }
    let baselineGateway: { child: ChildProcess; url: string } | undefined;
    let baselineTokens: string[] = [];
    if (stores.httpBaseline) {
      baselineTokens = await prepareStore(stores.httpBaseline, 1 + CLIENTS, { bin: BASELINE_BIN });
      baselineGateway = await startHttpGateway(stores.httpBaseline, upstream, [], { bin: BASELINE_BIN });
      started.push(baselineGateway.child);
      httpPaths.push({
        label: BEFORE,
        client: await httpClient(baselineGateway.url, baselineTokens[0]),
        tool: 'everything__echo',
        pid: baselineGateway.child.pid,
      });
    }
    const http = await measureEcho(httpPaths, CALLS);
    await closeClients(httpPaths.map((path) => path.client));
    count(stores.http, 'HTTP', WARMUP + CALLS);
    count(stores.httpBaseline, 'HTTP, baseline build', baselineGateway ? WARMUP + CALLS : 0);
    count(stores.httpProcess, 'HTTP, durability process', WARMUP + CALLS);
    count(stores.httpTmpfs, 'HTTP, tmpfs', tmpfsGateway ? WARMUP + CALLS : 0);
    if (tmpfsGateway) await stopChild(tmpfsGateway.child);
    for (const [index, path] of httpPaths.entries()) {
      const direct = index > 0 ? { direct: (http[0] as Measured).latency } : {};
      rows.push({ transport: 'HTTP', label: path.label, ...(http[index] as Measured), ...direct });
    }

    // 3. throughput: 16 clients, each its own connection and MCP session (through Reins: its own credential)
    const group = async (url: string, tool: string, token: (index: number) => string | undefined) => {
      const paths: Path[] = [];
      for (let index = 0; index < CLIENTS; index++)
        paths.push({ label: url, client: await httpClient(url, token(index)), tool });
      return paths;
    };
    const stdioUpstreamTokens = await prepareStore(stores.httpStdioUpstream, CLIENTS);
    const stdioUpstreamGateway = await startHttpGateway(stores.httpStdioUpstream, 'stdio');
    started.push(stdioUpstreamGateway.child);
    interface Load {
      readonly label: string;
      readonly url: string;
      readonly tool: string;
      readonly token: (index: number) => string | undefined;
      readonly middle?: number | undefined;
      /** The store whose audit log records these calls. */
      readonly store?: string | undefined;
      /** server-everything behind this path (the HTTP one, unless the gateway spawned its own). */
      readonly everything?: number | undefined;
    }
    const loads: Load[] = [
      {
        label: `direct: ${CLIENTS} SDK clients → server-everything (HTTP)`,
        url: upstream,
        tool: 'echo',
        token: () => undefined,
        everything: everything.pid,
      },
      {
        label: `bare relay (peer): ${CLIENTS} SDK clients → relay → server-everything (HTTP)`,
        url: relayed.match,
        tool: 'echo',
        token: () => undefined,
        middle: relayed.child.pid,
        everything: everything.pid,
      },
      {
        label: `via Reins: ${CLIENTS} SDK clients → reins gateway → server-everything (HTTP)`,
        url: gateway.url,
        tool: 'everything__echo',
        token: (index) => tokens[1 + index],
        middle: gateway.child.pid,
        store: stores.http,
        everything: everything.pid,
      },
      {
        label: `via Reins: ${CLIENTS} SDK clients → reins gateway → server-everything (stdio, spawned by the gateway)`,
        url: stdioUpstreamGateway.url,
        tool: 'everything__echo',
        token: (index) => stdioUpstreamTokens[index],
        middle: stdioUpstreamGateway.child.pid,
        store: stores.httpStdioUpstream,
      },
      {
        label: `${PROCESS}: ${CLIENTS} SDK clients → reins gateway → server-everything (HTTP)`,
        url: processGateway.url,
        tool: 'everything__echo',
        token: (index) => processTokens[1 + index],
        middle: processGateway.child.pid,
        store: stores.httpProcess,
        everything: everything.pid,
      },
    ];
    if (baselineGateway)
      loads.push({
        label: `${BEFORE}: ${CLIENTS} SDK clients → reins gateway → server-everything (HTTP)`,
        url: baselineGateway.url,
        tool: 'everything__echo',
        token: (index) => baselineTokens[1 + index],
        middle: baselineGateway.child.pid,
        store: stores.httpBaseline,
        everything: everything.pid,
      });
    // all loads connected and warm first; then they take turns, THROUGHPUT_ROUNDS times each
    const groups: Path[][] = [];
    for (const load of loads) {
      const paths = await group(load.url, load.tool, load.token);
      await warmUp(paths);
      groups.push(paths);
    }
    const parts: ThroughputResult[][] = loads.map(() => []);
    for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
      for (const [index, load] of loads.entries()) {
        const pids = { middle: load.middle, everything: load.everything };
        const part = await throughput(
          load.label,
          groups[index] as Path[],
          pids,
          THROUGHPUT_MS / THROUGHPUT_ROUNDS,
        );
        parts[index]?.push(part);
      }
    }
    const throughputs = parts.map(combined);
    for (const [index, load] of loads.entries()) {
      await closeClients((groups[index] as Path[]).map((path) => path.client));
      const calls = (throughputs[index] as ThroughputResult).calls;
      count(load.store, load.store === stores.http ? 'HTTP' : load.label, CLIENTS * WARMUP + calls);
    }
    const [directThroughput, relayThroughput, viaThroughput] = throughputs as [
      ThroughputResult,
      ThroughputResult,
      ThroughputResult,
    ];
    await stopChild(gateway.child);
    await stopChild(processGateway.child);
    await stopChild(stdioUpstreamGateway.child);
    if (baselineGateway) await stopChild(baselineGateway.child);

    // where the time goes: the disk's fsync, and one durable audit append at a time
    const fsync = rawFsync(disk, CALLS, { warmup: WARMUP, bytes: 512 });
    const append = await durableAppend(disk, CALLS, { warmup: WARMUP, agent: AGENT });

    // audit completeness: intent and outcome for every call through each gateway, chain intact
    const audited: string[] = [];
    for (const [store, { name, calls }] of viaCalls) {
      const records = await auditRecords(store);
      if (records < 2 * calls) throw new Error(`${name}: ${records} audit records for ${calls} calls`);
      audited.push(`${name}: ${records} records for ${calls} calls`);
    }

    // ---- report ----
    const us = (value: number | undefined, digits = 1) =>
      value === undefined ? 'n/a' : format(value, digits);
    write('');
    write('## Latency added by the gateway (one client, sequential calls)');
    write('');
    write(
      '| transport | path | calls | median µs | p99 µs | added median µs | added p99 µs | median vs direct | CPU µs/call of the answering process |',
    );
    write('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const row of rows) {
      const { latency, direct } = row;
      write(
        `| ${row.transport} | ${row.label} | ${latency.samples} | ${us(latency.medianUs)} | ${us(latency.p99Us)} | ${direct ? us(latency.medianUs - direct.medianUs) : ''} | ${direct ? us(latency.p99Us - direct.p99Us) : ''} | ${direct ? `${format(latency.medianUs / direct.medianUs)}x` : ''} | ${us(row.cpuUs, 0)} |`,
      );
    }
    write('');
    write(
      'added = this path minus direct, in the same run. CPU column: user + system time, all threads, of the process the client talks to (server-everything, the relay, or the gateway with its audit writer thread), from /proc, per timed call.',
    );
    write(
      `audit check (chain verified; intent + outcome per call, plus pinning records): ${audited.join('; ')}`,
    );
    write('');
    write('## Where the added time goes (same run)');
    write('');
    const median = (transport: string, label: string) =>
      rows.find((row) => row.transport === transport && row.label.startsWith(label))?.latency.medianUs;
    const difference = (transport: string, from: string, to: string) => {
      const high = median(transport, from);
      const low = median(transport, to);
      return high === undefined || low === undefined ? 'n/a' : us(high - low);
    };
    write('| differences of medians | stdio µs | HTTP µs |');
    write('| --- | ---: | ---: |');
    for (const [label, from, to] of [
      ['the extra MCP hop: bare relay − direct', 'bare relay', 'direct'],
      [
        "Reins' pipeline without fsync: Reins on tmpfs − bare relay",
        'via Reins, audit log on tmpfs',
        'bare relay',
      ],
      ['durable audit: Reins − Reins on tmpfs', 'via Reins:', 'via Reins, audit log on tmpfs'],
      ['total added: Reins − direct', 'via Reins:', 'direct'],
      ['Reins − bare relay', 'via Reins:', 'bare relay'],
      ['the storage floor: durable relay − bare relay', 'durable relay', 'bare relay'],
      ['governance beyond the floor: Reins − durable relay', 'via Reins:', 'durable relay'],
      [
        'Reins, durability process (not the default) − bare relay',
        'via Reins, durability: process',
        'bare relay',
      ],
      [
        'durable audit with durability process (not the default): Reins, process − Reins on tmpfs',
        'via Reins, durability: process',
        'via Reins, audit log on tmpfs',
      ],
      [
        'total added with durability process (not the default): Reins, process − direct',
        'via Reins, durability: process',
        'direct',
      ],
      ...(BASELINE
        ? ([['this build − the baseline build', 'via Reins:', 'via Reins, baseline build']] as const)
        : []),
    ] as const)
      write(`| ${label} | ${difference('stdio', from, to)} | ${difference('HTTP', from, to)} |`);
    const beyondStdio = (label: string) => {
      const over = (transport: string) => {
        const high = median(transport, label);
        const low = median(transport, 'bare relay');
        return high === undefined || low === undefined ? Number.NaN : high - low;
      };
      return us(over('HTTP') - over('stdio'));
    };
    write('');
    write(
      `what Streamable HTTP adds beyond stdio, (Reins − bare relay) over HTTP minus the same over stdio: ${beyondStdio('via Reins:')} µs with durability causal (default), ${beyondStdio('via Reins, durability: process')} µs with durability process`,
    );
    write('');
    write('| measure, in the audit directory | samples | median µs | p99 µs |');
    write('| --- | ---: | ---: | ---: |');
    write(
      `| write 512 bytes + fsync (${filesystemOf(disk)}) | ${fsync.samples} | ${us(fsync.medianUs)} | ${us(fsync.p99Us)} |`,
    );
    write(
      `| one durable \`SqliteAuditLog.append\` at a time, signed checkpoints (a call through Reins waits for one: its intent; with \`full\`, for two) | ${append.samples} | ${us(append.medianUs)} | ${us(append.p99Us)} |`,
    );
    write('');
    write(
      `## Throughput over Streamable HTTP (${CLIENTS} concurrent clients, each its own session; ${THROUGHPUT_MS / 1_000} s per path in ${THROUGHPUT_ROUNDS} turns, the paths taking turns; at most ${THROUGHPUT_MAX_CALLS} calls per turn)`,
    );
    write('');
    write(
      '| path | calls | seconds | calls/s | median µs/call | p99 µs/call | CPU µs/call: the 16 clients | CPU µs/call: relay or gateway | CPU µs/call: server-everything | cap of the middle process: 1 s / its CPU per call | cap of the machine: cores × 1 s / CPU per call of all processes |',
    );
    write('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const cores = cpus().length;
    for (const result of throughputs) {
      const { clients, middle, everything: upstreamCpu } = result.cpuUs;
      const middleCpu = result === directThroughput ? undefined : middle;
      const total = clients + (middleCpu ?? 0) + (upstreamCpu ?? 0);
      write(
        `| ${result.label} | ${result.calls} | ${format(result.seconds)} | ${Math.round(result.callsPerSecond)} | ${us(result.latency.medianUs)} | ${us(result.latency.p99Us)} | ${us(clients, 0)} | ${us(middleCpu, 0)} | ${us(upstreamCpu, 0)} | ${middleCpu ? Math.round(1e6 / middleCpu) : ''} | ${Math.round((cores * 1e6) / total)} |`,
      );
    }
    write('');
    write(
      "caps: a process whose JavaScript runs on one thread cannot serve more calls per second than 1 s divided by its CPU time per call (the gateway's audit writer thread adds a little on another core); the machine cannot serve more than its cores divided by the CPU time all processes spend per call. Where server-everything runs inside the gateway (stdio), its CPU is not counted (n/a).",
    );
    write('');
    write(
      `through Reins: ${format(viaThroughput.callsPerSecond / directThroughput.callsPerSecond)}x the calls/s of direct, ${format(viaThroughput.callsPerSecond / relayThroughput.callsPerSecond)}x the bare relay's; ${cpus().length} cores shared by the clients, the relay or gateway, and server-everything`,
    );
    const added = (label: string) => {
      const row = rows.find(
        (candidate) => candidate.transport === 'stdio' && candidate.label.startsWith(label),
      );
      return {
        median: row?.direct ? row.latency.medianUs - row.direct.medianUs : Number.NaN,
        p99: row?.direct ? row.latency.p99Us - row.direct.p99Us : Number.NaN,
      };
    };
    const verdict = (met: boolean) => (met ? 'met' : 'not met');
    const best = throughputs
      .filter((result) => result.label.startsWith('via Reins:'))
      .reduce((a, b) => (a.callsPerSecond >= b.callsPerSecond ? a : b));
    write('');
    write('| target | mode | result | |');
    write('| --- | --- | ---: | --- |');
    for (const [mode, label] of [
      ['durability causal (default)', 'via Reins:'],
      ['durability process (NOT the default)', 'via Reins, durability: process'],
    ] as const) {
      const { median: addedMedian, p99: addedP99 } = added(label);
      write(
        `| stdio: added median ≤ 0.3 ms | ${mode} | ${format(addedMedian / 1_000, 3)} ms | ${verdict(addedMedian <= TARGETS.stdioMedianUs)} |`,
      );
      write(
        `| stdio: added p99 ≤ 1 ms | ${mode} | ${format(addedP99 / 1_000, 3)} ms | ${verdict(addedP99 <= TARGETS.stdioP99Us)} |`,
      );
    }
    write(
      `| ≥ 3,000 calls/s, ${CLIENTS} clients over Streamable HTTP | durability causal (default), best upstream transport | ${Math.round(best.callsPerSecond)} calls/s | ${verdict(best.callsPerSecond >= TARGETS.callsPerSecond)} |`,
    );
    const overRelay = us(fsync.medianUs + TARGETS.httpOverRelayUs);
    const relayHttp = median('HTTP', 'bare relay') ?? Number.NaN;
    const processThroughput = throughputs.find((result) => result.label.startsWith(PROCESS));
    for (const [mode, label, load] of [
      ['durability causal (default)', 'via Reins:', viaThroughput],
      ['durability process (NOT the default)', 'via Reins, durability: process', processThroughput],
    ] as const) {
      const over = (median('HTTP', label) ?? Number.NaN) - relayHttp;
      write(
        `| HTTP: Reins − bare relay ≤ one fsync + ${TARGETS.httpOverRelayUs} µs (${overRelay} µs in this run) | ${mode} | ${us(over)} µs | ${verdict(over <= fsync.medianUs + TARGETS.httpOverRelayUs)} |`,
      );
      const calls = load?.callsPerSecond ?? Number.NaN;
      write(
        `| ${CLIENTS} clients over HTTP: calls/s through Reins ≥ through the bare relay (${Math.round(relayThroughput.callsPerSecond)}) | ${mode} | ${Math.round(calls)} calls/s | ${verdict(calls >= relayThroughput.callsPerSecond)} |`,
      );
    }
    write('');
    write(
      `floor for the default mode (causal, decision 0028): a call waits for one durable commit, its intent's, before the tool runs; the outcome reaches the disk with the next intent's fsync: 1 × ${us(fsync.medianUs)} µs (median raw fsync in this run)`,
    );

    // optional: where the gateways spend their time (separate runs: the profiler perturbs timings)
    if (profile) {
      const profiles = temporaryDirectory(diskRoot, 'reins-gateway-profile-');
      const stdioProfiles = join(profiles, 'stdio');
      const profiled = await stdioPath('profiled', 'everything__echo', [
        // the SDK ends a child that is slow to exit with SIGTERM: exit normally then, so the profile is written
        '--import',
        `data:text/javascript,${encodeURIComponent("process.once('SIGTERM', () => process.exit(0));")}`,
        ...reinsMcpArgs(stores.stdio, ['--cpu-prof', '--cpu-prof-dir', stdioProfiles]),
      ]);
      for (let index = 0; index < WARMUP; index++) await callOnce(profiled);
      const cpuBefore = cpuMicros(profiled.pid);
      const window = { fromUs: nowUs(), toUs: 0 };
      const samples = new Float64Array(CALLS);
      for (let index = 0; index < CALLS; index++) samples[index] = await callOnce(profiled);
      window.toUs = nowUs();
      const cpuUs = perCall(cpuBefore, cpuMicros(profiled.pid), CALLS);
      await closeClients([profiled.client]);
      const latency = summarise(samples);
      write('');
      write(
        `## CPU profile of \`reins mcp\` (node --cpu-prof; ${CALLS} sequential calls after ${WARMUP} warm-up; under the profiler: median ${us(latency.medianUs)} µs, p99 ${us(latency.p99Us)} µs, process CPU ${us(cpuUs, 0)} µs per call)`,
      );
      for (const file of profileFiles(stdioProfiles)) summariseProfile(file, window, CALLS);

      // the same sequential calls through `reins gateway`: what Streamable HTTP adds beside the stdio profile
      const sequentialProfiles = join(profiles, 'http-sequential');
      const sequentialGateway = await startHttpGateway(stores.http, upstream, [
        '--cpu-prof',
        '--cpu-prof-dir',
        sequentialProfiles,
      ]);
      started.push(sequentialGateway.child);
      const sequential: Path = {
        label: 'profiled',
        client: await httpClient(sequentialGateway.url, tokens[1 + 2 * CLIENTS]),
        tool: 'everything__echo',
        pid: sequentialGateway.child.pid,
      };
      for (let index = 0; index < WARMUP; index++) await callOnce(sequential);
      const gatewayCpuBefore = cpuMicros(sequential.pid);
      const sequentialWindow = { fromUs: nowUs(), toUs: 0 };
      const sequentialSamples = new Float64Array(CALLS);
      for (let index = 0; index < CALLS; index++) sequentialSamples[index] = await callOnce(sequential);
      sequentialWindow.toUs = nowUs();
      const gatewayCpu = perCall(gatewayCpuBefore, cpuMicros(sequential.pid), CALLS);
      await closeClients([sequential.client]);
      await stopChild(sequentialGateway.child);
      const sequentialLatency = summarise(sequentialSamples);
      write('');
      write(
        `## CPU profile of \`reins gateway\` (node --cpu-prof; ${CALLS} sequential calls after ${WARMUP} warm-up, server-everything over HTTP; under the profiler: median ${us(sequentialLatency.medianUs)} µs, p99 ${us(sequentialLatency.p99Us)} µs, process CPU ${us(gatewayCpu, 0)} µs per call)`,
      );
      for (const file of profileFiles(sequentialProfiles)) summariseProfile(file, sequentialWindow, CALLS);

      const httpProfiles = join(profiles, 'http');
      const profiledGateway = await startHttpGateway(stores.http, upstream, [
        '--cpu-prof',
        '--cpu-prof-dir',
        httpProfiles,
      ]);
      started.push(profiledGateway.child);
      const paths = await group(
        profiledGateway.url,
        'everything__echo',
        (index) => tokens[1 + CLIENTS + index],
      );
      await warmUp(paths);
      const result = await throughput('profiled', paths, {
        middle: profiledGateway.child.pid,
        everything: everything.pid,
      });
      await closeClients(paths.map((path) => path.client));
      await stopChild(profiledGateway.child); // SIGTERM: the gateway shuts down cleanly and writes its profiles
      write('');
      write(
        `## CPU profile of \`reins gateway\` under the throughput load (node --cpu-prof; ${result.calls} calls from ${CLIENTS} clients; under the profiler: ${Math.round(result.callsPerSecond)} calls/s, gateway CPU ${us(result.cpuUs.middle, 0)} µs per call)`,
      );
      for (const file of profileFiles(httpProfiles)) summariseProfile(file, result.window, result.calls);
    }
  } finally {
    await closeAllClients();
    for (const child of started.reverse()) await stopChild(child);
    removeTemporaryDirectories();
  }
}

const [mode, ...rest] = argv;
if (mode === '--relay-stdio' || mode === '--relay-http') await relay(mode, rest);
else await benchmark();
