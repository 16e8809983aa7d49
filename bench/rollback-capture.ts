/**
 * @module bench/rollback-capture
 * What capturing the state before a call costs (issue 16), with real processes on both sides: the
 * official SDK client calls `write_file` of `@modelcontextprotocol/server-filesystem`, overwriting an
 * existing file each time, directly and through `reins mcp` (stdio, as bench/gateway-latency runs it),
 * once with the built-in server-filesystem profile applied (Reins reads the file with
 * `read_media_file` before the write and stores the bytes with the intent, in the same commit) and
 * once with the same policy without it (nothing captured). Every call through Reins is decided and
 * waits for two durable audit commits (SQLite, WAL, synchronous=FULL).
 *
 * Measured in one run, by file size (1 KiB, 64 KiB, 1 MiB, 3 MiB), the paths taking turns by block:
 * latency of each path, the CPU per call of each `reins mcp`, and the bytes stored per call; then one
 * 8 MiB write through each `reins mcp` (above ~3.7 MiB the capture's read cannot pass the SDK's stdio
 * transport, see LARGE). To say where the cost of capture goes, in the same run:
 * - `read_media_file` of the same file, called directly (the capture's read over MCP, without Reins),
 *   and its parts timed here: base64, JSON, the SDK's stdio ReadBuffer receiving the answer;
 * - the capture stage in this process (harness/capture `takeCaptures`, the read answered from memory),
 *   and its parts: JSON + UTF-8 encoding of the captured value, its sha256, the profile's CEL (accept,
 *   and `exact`: is the base64 UTF-8 text that `write_file` can write back), the redacted view;
 * - one durable audit append at a time, with and without the captured content in the same commit;
 *   SQLite alone inserting a blob of that size; a raw write + fsync of as many bytes.
 *
 * Run: npm run bench:rollback [-- --quick] (builds dist/ first: `reins mcp` runs as `node bin/reins.js`).
 * `--quick`: fewer calls, for a smoke check, not for figures.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { CallToolResult, JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import Database from 'better-sqlite3';
import { takeCaptures } from '../src/harness/capture.js';
import { screenWithPolicy } from '../src/harness/upstream-screen.js';
import { compilePolicy } from '../src/policy/compile-policy.js';
import { formatProblem } from '../src/policy/policy-problem.js';
import type { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { CapturedValue, CompiledReversal, ReversalCall } from '../src/policy/reversal.js';
import { isBase64Utf8 } from '../src/policy/reversal-functions.js';
import type { CapturedContent } from '../src/store/audit-log.js';
import {
  auditRecords,
  closeAllClients,
  closeClients,
  durableAppendSamples,
  filesystemOf,
  type Measured,
  measureInterleaved,
  type Path,
  ROOT,
  rawFsync,
  registerAgent,
  reinsMcpArgs,
  removeTemporaryDirectories,
  stdioPath,
  temporaryDirectory,
} from './mcp-bench.js';
import { format, machine, type Summary, summarise } from './measure.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const KIB = 1_024;
/** File sizes, and how many calls per path at each (bounded: the run stays under 3 minutes on 2 cores). */
const SIZES: readonly { bytes: number; label: string; calls: number; warmup: number }[] = [
  { bytes: KIB, label: '1 KiB', calls: quick ? 50 : 400, warmup: quick ? 10 : 50 },
  { bytes: 64 * KIB, label: '64 KiB', calls: quick ? 30 : 200, warmup: quick ? 5 : 20 },
  { bytes: KIB * KIB, label: '1 MiB', calls: quick ? 10 : 60, warmup: quick ? 2 : 5 },
  { bytes: 3 * KIB * KIB, label: '3 MiB', calls: quick ? 4 : 25, warmup: quick ? 1 : 2 },
];
/**
 * Above ~3.7 MiB the capture's read cannot succeed over stdio: `read_media_file` answers with the base64
 * twice (content and structuredContent), and the SDK's stdio transport closes a connection whose
 * message exceeds 10 MiB. One call at this size, through each `reins mcp`, shows what happens then.
 */
const LARGE = { bytes: 8 * KIB * KIB, label: '8 MiB' };
const BLOCK = 5;
/** In-process parts: iterations per size (fewer for large files, whose parts take milliseconds). */
const partIterations = (bytes: number) => (quick ? 5 : bytes >= KIB * KIB ? 20 : 200);
const AGENT = 'bench';
const SERVER = 'fs';
const FILESYSTEM = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-filesystem/dist/index.js',
);
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: rollback-capture-bench }
tools:
  - { server: ${SERVER}, name: "read_*", risk: low, effects: [read] }
  - { server: ${SERVER}, name: "list_*", risk: low, effects: [read] }
  - { server: ${SERVER}, name: get_file_info, risk: low, effects: [read] }
  - { server: ${SERVER}, name: "*", risk: medium, effects: [write] }
rules:
  - id: edit
    effect: allow
    principal: { agents: ${AGENT} }
    tool: { server: ${SERVER} }
    reason: the benchmark's agent edits files
`;
const PROFILE = `rollback:
  profiles:
    - { profile: server-filesystem, server: ${SERVER} }
`;

const write = (line: string) => process.stdout.write(`${line}\n`);

/** A path of the run: what it calls, and where its files are (as its server sees them). */
interface BenchPath extends Path {
  /** The server's allowed directory. */
  readonly files: string;
  readonly kind: 'write' | 'read';
}

/** One line of text repeated: what an agent writes (valid UTF-8, so the profile can restore it exactly). */
const LINE = 'replicas: 3 # the quick brown fox jumps over the lazy dog, 0123456789\n';

/** `bytes` of text whose first line is unique to `serial`: every capture is new content (stored once per hash). */
function contentOf(bytes: number, serial: number, filler: string): string {
  const head = `${String(serial).padStart(15, '0')}\n`;
  return head + filler.slice(head.length, bytes);
}

function fileOf(path: BenchPath, size: { bytes: number }): string {
  return join(path.files, `file-${size.bytes}.txt`);
}

function failure(result: CallToolResult): string | undefined {
  if (result.isError !== true) return undefined;
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join(' ');
}

async function callTool(path: BenchPath, args: Record<string, unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  const result = (await path.client.callTool({ name: path.tool, arguments: args })) as CallToolResult;
  const micros = Number(process.hrtime.bigint() - started) / 1_000;
  const error = failure(result);
  if (error !== undefined) throw new Error(`${path.label}: \`${path.tool}\` failed: ${error.slice(0, 400)}`);
  return micros;
}

/** Captured contents in a store so far: rows and bytes of `audit_captures`. */
function storedCaptures(database: string): { rows: number; bytes: number } {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare('select count(*) as rows, coalesce(sum(length(content)), 0) as bytes from audit_captures')
      .get() as { rows: number; bytes: number };
  } finally {
    db.close();
  }
}

/** Mean size of the intent records after `afterSeq`, and the last seq. */
function intents(database: string, afterSeq: number): { meanBytes: number; lastSeq: number } {
  const db = new Database(database, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        "select avg(length(body)) as meanBytes, (select max(seq) from audit_events) as lastSeq from audit_events where kind = 'call-intent' and seq > ?",
      )
      .get(afterSeq) as { meanBytes: number | null; lastSeq: number | null };
    return { meanBytes: row.meanBytes ?? 0, lastSeq: row.lastSeq ?? 0 };
  } finally {
    db.close();
  }
}

function timeEachSync(run: () => void, iterations: number): Summary {
  run();
  const samples = new Float64Array(iterations);
  for (let index = 0; index < iterations; index++) {
    const started = process.hrtime.bigint();
    run();
    samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  return summarise(samples);
}

async function timeEachAsync(run: () => Promise<unknown>, iterations: number): Promise<Summary> {
  await run();
  const samples = new Float64Array(iterations);
  for (let index = 0; index < iterations; index++) {
    const started = process.hrtime.bigint();
    await run();
    samples[index] = Number(process.hrtime.bigint() - started) / 1_000;
  }
  return summarise(samples);
}

interface Parts {
  /** The file's bytes to base64, as server-filesystem's `read_media_file` does. */
  readonly base64: Summary;
  /** The answer's JSON-RPC message encoded and decoded, as the server and the client do. */
  readonly message: Summary;
  /** The answer received by the SDK's stdio transport in pipe-sized chunks (its ReadBuffer). */
  readonly received: Summary;
  readonly stage: Summary;
  readonly encode: Summary;
  readonly hash: Summary;
  readonly cel: Summary;
  readonly utf8Check: Summary;
  readonly view: Summary;
  readonly capturedBytes: number;
}

/** What one read of a pipe gives a Node process (64 KiB on Linux). */
const PIPE_CHUNK = 64 * KIB;

/** Base64 runs long enough to hide a secret: harness/capture's view summarises them (its pattern). */
const ENCODED = /^[A-Za-z0-9+/=_-]{24,}$/;

/**
 * The capture stage in this process, on a real `read_media_file` result (`captured`): the whole stage
 * as the harness runs it (the read answered from memory), and its parts.
 */
async function captureParts(
  reversal: CompiledReversal,
  policy: PreparedPolicy,
  file: string,
  captured: CallToolResult,
  iterations: number,
): Promise<Parts> {
  const fileBytes = readFileSync(file);
  const base64 = timeEachSync(() => fileBytes.toString('base64'), iterations);
  const message = timeEachSync(
    () => JSON.parse(JSON.stringify({ result: captured, jsonrpc: '2.0', id: 1 })),
    iterations,
  );
  const line = Buffer.from(serializeMessage({ result: captured, jsonrpc: '2.0', id: 1 } as JSONRPCMessage));
  const chunks: Buffer[] = [];
  for (let at = 0; at < line.length; at += PIPE_CHUNK) chunks.push(line.subarray(at, at + PIPE_CHUNK));
  const received = timeEachSync(() => {
    // as StdioClientTransport does: append each chunk, then read the messages complete so far
    const buffer = new ReadBuffer();
    let messages = 0;
    for (const chunk of chunks) {
      buffer.append(chunk);
      while (buffer.readMessage() !== null) messages++;
    }
    if (messages !== 1) throw new Error(`the answer came as ${messages} messages`);
  }, iterations);
  const call: ReversalCall = {
    decisionId: 'bench',
    sessionId: 'bench-0',
    server: SERVER,
    name: 'write_file',
    args: { path: file, content: 'new content' },
  };
  const tool = { server: SERVER, name: 'write_file' };
  const screens = { screen: <T>(value: T) => screenWithPolicy(policy, tool, value, 'the captured state') };
  const signal = new AbortController().signal;
  const read = async () => captured;
  const taken = await takeCaptures(reversal, call, read, screens, signal);
  if (taken.failure !== undefined || taken.facts.kind !== 'reversible')
    throw new Error(`the capture stage did not take the file: ${taken.failure ?? taken.facts.reason}`);
  const value: CapturedValue = { ok: true, result: captured };
  let bytes = new Uint8Array();
  const encode = timeEachSync(() => {
    bytes = new TextEncoder().encode(JSON.stringify(value));
  }, iterations);
  const hash = timeEachSync(() => createHash('sha256').update(bytes).digest('hex'), iterations);
  const cel = timeEachSync(() => {
    const accepted = reversal.accepts('before', value, call);
    const facts = reversal.facts(call, { before: value });
    if (!accepted.ok || !accepted.value || !facts.reversible)
      throw new Error('the profile refused the capture');
  }, iterations);
  const content = captured.content[0];
  const blob = content?.type === 'resource' && 'blob' in content.resource ? content.resource.blob : '';
  const utf8Check = timeEachSync(() => {
    if (!isBase64Utf8(blob)) throw new Error('the captured file is not UTF-8 text');
  }, iterations);
  // the redacted view of the record, as harness/capture's viewOf builds it (screen, then JSON that
  // summarises encoded runs, cut short)
  const view = timeEachSync(() => {
    const screened = screens.screen(value);
    if (!screened.ok) throw new Error(screened.reason);
    JSON.stringify(screened.value, (_key, item: unknown) =>
      typeof item === 'string' && ENCODED.test(item) ? `(encoded, ${item.length} characters)` : item,
    ).slice(0, 512);
  }, iterations);
  const stage = await timeEachAsync(() => takeCaptures(reversal, call, read, screens, signal), iterations);
  return {
    base64,
    message,
    received,
    stage,
    encode,
    hash,
    cel,
    utf8Check,
    view,
    capturedBytes: bytes.byteLength,
  };
}

const ROUNDS = 4;

/**
 * Durable appends of an intent without, then with, a captured content of `bytes` (new each time), in
 * `directory`: what storing the capture adds to the commit. The two take turns, in rounds.
 */
async function appends(directory: string, bytes: number, iterations: number) {
  const options = { warmup: 2, agent: AGENT };
  const captured = capturedOf(bytes);
  const per = Math.ceil(iterations / ROUNDS);
  const without: Float64Array[] = [];
  const withCapture: Float64Array[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    without.push(await durableAppendSamples(directory, per, options));
    withCapture.push(await durableAppendSamples(directory, per, { ...options, captured }));
  }
  const all = (runs: Float64Array[]) => summarise(runs.flatMap((run) => [...run]));
  return { without: all(without), with: all(withCapture) };
}

/**
 * SQLite alone, as the audit store opens it (WAL, synchronous=FULL): one transaction inserting a new
 * blob of `bytes` into a table like `audit_captures`, with SQLite's default WAL autocheckpoint (1,000
 * pages) and, as a diagnostic, with none.
 */
function sqliteBlobs(directory: string, bytes: number, iterations: number) {
  const once = (autocheckpoint: number) => {
    const db = new Database(join(directory, `blob-probe-${autocheckpoint}-${bytes}.db`));
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
      db.exec('create table captures (hash text primary key, content blob not null)');
      const insert = db.prepare('insert into captures (hash, content) values (?, ?)');
      const next = capturedOf(bytes);
      let index = 0;
      return timeEachSync(() => {
        const [content] = next(index++) as [CapturedContent];
        db.transaction(() => insert.run(content.hash, content.bytes))();
      }, iterations);
    } finally {
      db.close();
    }
  };
  return { checkpointed: once(1_000), unchecked: once(0) };
}

/** A fresh content of `bytes` bytes with its hash, for each append (so that each is stored). */
function capturedOf(bytes: number): (index: number) => readonly CapturedContent[] {
  const filler = Buffer.alloc(bytes, 0x61);
  return (index) => {
    filler.write(String(index).padStart(15, '0'), 0);
    const copy = new Uint8Array(filler);
    return [{ hash: createHash('sha256').update(copy).digest('hex'), bytes: copy }];
  };
}

interface SizeResult {
  readonly size: (typeof SIZES)[number];
  readonly direct: Summary;
  readonly plain: Summary;
  readonly capture: Summary;
  readonly read: Summary;
  readonly cpu: { plain: number | undefined; capture: number | undefined };
  readonly storedPerCall: number;
  readonly rowsPerCall: number;
  readonly intentBytes: { plain: number; capture: number };
  readonly parts: Parts;
  readonly append: { without: Summary; with: Summary };
  readonly sqlite: { checkpointed: Summary; unchecked: Summary };
  readonly fsync: Summary;
}

/** The stores, work directories and the compiled profile of a run; the paths through them. */
interface Run {
  readonly disk: string;
  readonly stores: { readonly plain: string; readonly capture: string };
  readonly paths: readonly [BenchPath, BenchPath, BenchPath, BenchPath];
  readonly reversal: CompiledReversal;
  readonly policy: PreparedPolicy;
}

/** A directory of its own for each server (as it sees it: real path). */
function filesDirectory(disk: string, name: string): string {
  const directory = join(disk, `files-${name}`);
  mkdirSync(directory);
  return realpathSync(directory);
}

async function startRun(disk: string): Promise<Run> {
  const stores = { plain: join(disk, 'store-plain'), capture: join(disk, 'store-capture') };
  for (const [store, policy] of [
    [stores.plain, POLICY],
    [stores.capture, POLICY + PROFILE],
  ] as const) {
    mkdirSync(store);
    await (await registerAgent(store, { policy, agent: AGENT, scopes: [`${SERVER}/*`] })).close();
  }
  const compiled = compilePolicy([{ file: 'policy.yaml', text: POLICY + PROFILE }]);
  if (!compiled.ok) throw new Error(compiled.problems.map(formatProblem).join('\n'));
  const reversal = compiled.policy.reversalOf({ server: SERVER, name: 'write_file' });
  if (reversal === undefined) throw new Error('the server-filesystem profile has no reversal for write_file');
  const files = {
    direct: filesDirectory(disk, 'direct'),
    plain: filesDirectory(disk, 'plain'),
    capture: filesDirectory(disk, 'capture'),
  };
  const upstream = (directory: string) => [FILESYSTEM, directory];
  const viaReins = async (label: string, store: string, directory: string): Promise<BenchPath> => {
    const args = reinsMcpArgs({ store, agent: AGENT, name: SERVER, upstream: upstream(directory) });
    const path = await stdioPath(label, `${SERVER}__write_file`, args, disk);
    return { ...path, files: directory, kind: 'write' };
  };
  const direct = await stdioPath(DIRECT, 'write_file', upstream(files.direct), disk);
  const paths = [
    { ...direct, files: files.direct, kind: 'write' },
    await viaReins(PLAIN, stores.plain, files.plain),
    await viaReins(CAPTURE, stores.capture, files.capture),
    // the capture's read, without Reins: the direct client reads the file the direct path writes
    { ...direct, label: READ, tool: 'read_media_file', files: files.direct, kind: 'read' },
  ] as const;
  return { disk, stores, paths, reversal, policy: compiled.policy };
}

const DIRECT = 'direct: SDK client → server-filesystem';
const PLAIN = 'via reins mcp, no profile (nothing captured)';
const CAPTURE = 'via reins mcp, server-filesystem profile (capture + store)';
const READ = 'direct: read_media_file (the capture read, without Reins)';

/** One size: the paths in turns, then the parts of the capture, in this process. */
async function measureSize(
  run: Run,
  size: (typeof SIZES)[number],
  serial: () => number,
): Promise<SizeResult> {
  const [direct] = run.paths;
  const filler = LINE.repeat(Math.ceil(size.bytes / LINE.length) + 1);
  for (const path of run.paths) writeFileSync(fileOf(path, size), contentOf(size.bytes, serial(), filler));
  const plainDb = join(run.stores.plain, 'reins.db');
  const captureDb = join(run.stores.capture, 'reins.db');
  const storedBefore = storedCaptures(captureDb);
  const seqs = { plain: intents(plainDb, 0).lastSeq, capture: intents(captureDb, 0).lastSeq };
  const call = (path: BenchPath) =>
    path.kind === 'read'
      ? callTool(path, { path: fileOf(path, size) })
      : callTool(path, { path: fileOf(path, size), content: contentOf(size.bytes, serial(), filler) });
  const [directRun, plainRun, captureRun, readRun] = (await measureInterleaved(run.paths, size.calls, call, {
    warmup: size.warmup,
    block: BLOCK,
  })) as [Measured, Measured, Measured, Measured];
  const storedAfter = storedCaptures(captureDb);
  const callsMade = size.warmup + size.calls;
  const rows = storedAfter.rows - storedBefore.rows;
  if (rows !== callsMade)
    throw new Error(`${size.label}: ${rows} contents captured for ${callsMade} calls with the profile`);
  const sample = (await direct.client.callTool({
    name: 'read_media_file',
    arguments: { path: fileOf(direct, size) },
  })) as CallToolResult;
  const iterations = partIterations(size.bytes);
  const parts = await captureParts(run.reversal, run.policy, fileOf(direct, size), sample, iterations);
  return {
    size,
    direct: directRun.latency,
    plain: plainRun.latency,
    capture: captureRun.latency,
    read: readRun.latency,
    cpu: { plain: plainRun.cpuUs, capture: captureRun.cpuUs },
    storedPerCall: (storedAfter.bytes - storedBefore.bytes) / callsMade,
    rowsPerCall: rows / callsMade,
    intentBytes: {
      plain: intents(plainDb, seqs.plain).meanBytes,
      capture: intents(captureDb, seqs.capture).meanBytes,
    },
    parts,
    append: await appends(run.disk, parts.capturedBytes, iterations),
    sqlite: sqliteBlobs(run.disk, parts.capturedBytes, iterations),
    fsync: rawFsync(run.disk, iterations, { warmup: 2, bytes: parts.capturedBytes }),
  };
}

async function benchmark(): Promise<void> {
  const pkg = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm run bench:rollback does)');
  const disk = temporaryDirectory(tmpdir(), 'reins-rollback-bench-');
  const load = loadavg()[0] as number;
  write(`machine: ${machine()}`);
  write(`command: npm run bench:rollback${argv.length ? ` -- ${argv.join(' ')}` : ''}`);
  write(
    `inputs: upstream @modelcontextprotocol/server-filesystem ${pkg(join(dirname(FILESYSTEM), '..', 'package.json'))}, tool \`write_file\` overwriting one existing text file per size, new content each call; every client uses @modelcontextprotocol/sdk ${pkg(join(ROOT, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))}`,
  );
  write(
    `inputs: ${SIZES.map((size) => `${size.label}: ${size.warmup} warm-up + ${size.calls} timed calls per path`).join('; ')}; the paths take turns in blocks of ${BLOCK}`,
  );
  write(
    `inputs: stores: SQLite (WAL, synchronous=FULL, signed checkpoints) in ${disk} (${filesystemOf(disk)}); \`reins mcp\` and server-filesystem are child processes over stdio`,
  );
  const results: SizeResult[] = [];
  let large: Large | undefined;
  let next = 0;
  try {
    const run = await startRun(disk);
    for (const size of SIZES) {
      const started = Date.now();
      results.push(await measureSize(run, size, () => next++));
      process.stderr.write(`${size.label}: ${((Date.now() - started) / 1_000).toFixed(1)} s\n`);
    }
    large = await largeFile(run.paths[1], run.paths[2], next);
    await closeClients(run.paths.slice(0, 3).map((path) => path.client));
    // every call through Reins is on record (intent and outcome), and both chains verify
    const calls = SIZES.reduce((sum, size) => sum + size.warmup + size.calls, 0) + 1;
    for (const store of Object.values(run.stores)) {
      const records = await auditRecords(store);
      if (records < 2 * calls) throw new Error(`${store}: ${records} audit records for ${calls} calls`);
    }
  } finally {
    await closeAllClients();
    removeTemporaryDirectories();
  }
  report(results, large, load);
}

interface Large {
  readonly plainMs: number;
  readonly captureMs: number;
  readonly refusal: string | undefined;
  readonly unchanged: boolean;
}

/** One `write_file` of LARGE bytes through each `reins mcp`, over an existing file; the profile's may be refused. */
async function largeFile(plain: BenchPath, capture: BenchPath, serial: number): Promise<Large> {
  const filler = LINE.repeat(Math.ceil(LARGE.bytes / LINE.length) + 1);
  const before = contentOf(LARGE.bytes, serial, filler);
  for (const path of [plain, capture]) writeFileSync(fileOf(path, LARGE), before);
  const once = async (path: BenchPath) => {
    const started = process.hrtime.bigint();
    const result = (await path.client.callTool({
      name: path.tool,
      arguments: { path: fileOf(path, LARGE), content: contentOf(LARGE.bytes, serial + 1, filler) },
    })) as CallToolResult;
    return { ms: Number(process.hrtime.bigint() - started) / 1e6, error: failure(result) };
  };
  const written = await once(plain);
  if (written.error !== undefined)
    throw new Error(`${LARGE.label} without the profile failed: ${written.error}`);
  const captured = await once(capture);
  return {
    plainMs: written.ms,
    captureMs: captured.ms,
    refusal: captured.error,
    unchanged: readFileSync(fileOf(capture, LARGE), 'utf8') === before,
  };
}

function report(results: readonly SizeResult[], large: Large | undefined, load: number): void {
  const ms = (micros: number | undefined, digits = 2) =>
    micros === undefined || Number.isNaN(micros) ? 'n/a' : format(micros / 1_000, digits);
  const both = (summary: Summary) => `${ms(summary.medianUs)} / ${ms(summary.p99Us)}`;
  write('');
  write(
    `load average (1 min, all processes on the machine): ${format(load)} at the start, ${format(loadavg()[0] as number)} at the end`,
  );
  write('');
  write('## Cost of capture per `write_file` call, by file size (one client, sequential calls, ms)');
  write('');
  write(
    '| file size | calls per path | direct median / p99 | Reins, no profile median / p99 | Reins, profile (capture) median / p99 | cost of capture: median | cost of capture: p99 | median ratio profile / no profile | captured bytes stored per call (× file size) | intent record bytes, no profile → profile | reins mcp CPU ms/call, no profile → profile |',
  );
  write('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const result of results) {
    const { plain, capture } = result;
    write(
      `| ${result.size.label} | ${plain.samples} | ${both(result.direct)} | ${both(plain)} | ${both(capture)} | ${ms(capture.medianUs - plain.medianUs)} | ${ms(capture.p99Us - plain.p99Us)} | ${format(capture.medianUs / plain.medianUs)}x | ${Math.round(result.storedPerCall)} (${format(result.storedPerCall / result.size.bytes)}x; ${format(result.rowsPerCall, 0)} row) | ${Math.round(result.intentBytes.plain)} → ${Math.round(result.intentBytes.capture)} | ${ms(result.cpu.plain)} → ${ms(result.cpu.capture)} |`,
    );
  }
  write('');
  write(
    'cost of capture = profile − no profile, in the same run (the p99 column is a difference of two p99s). Captured bytes: what `audit_captures` gained per call (the `read_media_file` result as JSON, which holds the file in base64 twice: in `content` and in `structuredContent`).',
  );
  if (large !== undefined)
    write(
      `${LARGE.label}, one call each: no profile ${ms(large.plainMs * 1_000)} ms, written; profile ${ms(large.captureMs * 1_000)} ms, ${large.refusal === undefined ? 'written' : `refused (${large.refusal.slice(0, 300)})`}; the file ${large.unchanged ? 'was left unchanged' : 'changed'}.`,
    );
  write('');
  write('## Where the cost of capture goes (medians, ms, same run)');
  write('');
  write(`| part | ${results.map((result) => result.size.label).join(' | ')} |`);
  write(`| --- |${results.map(() => ' ---: |').join('')}`);
  const row = (label: string, value: (result: SizeResult) => string) =>
    write(`| ${label} | ${results.map(value).join(' | ')} |`);
  const cpuDelta = (result: SizeResult) =>
    result.cpu.capture === undefined || result.cpu.plain === undefined
      ? undefined
      : result.cpu.capture - result.cpu.plain;
  row('**cost of capture** (Δ median, end to end, above)', (r) => ms(r.capture.medianUs - r.plain.medianUs));
  row('reins mcp CPU Δ per call (profile − no profile)', (r) => ms(cpuDelta(r)));
  row('`read_media_file` over MCP, direct (server reads, base64, JSON over stdio, client parses)', (r) =>
    ms(r.read.medianUs),
  );
  row('  of which: base64 of the file (as the server does; timed here)', (r) => ms(r.parts.base64.medianUs));
  row('  of which: JSON encode + decode of the answer (timed here)', (r) => ms(r.parts.message.medianUs));
  row(
    "  of which: the SDK's stdio ReadBuffer receiving the answer in 64 KiB chunks, with its checks (timed here)",
    (r) => ms(r.parts.received.medianUs),
  );
  row('capture stage in process (`takeCaptures`, the read answered from memory)', (r) =>
    ms(r.parts.stage.medianUs),
  );
  row('  of which: JSON + UTF-8 encode of the captured value', (r) => ms(r.parts.encode.medianUs));
  row('  of which: sha256 of it', (r) => ms(r.parts.hash.medianUs));
  row("  of which: the profile's CEL (accept; exact)", (r) => ms(r.parts.cel.medianUs));
  row('    of which: `isBase64Utf8` (base64 decode, strict UTF-8 check)', (r) =>
    ms(r.parts.utf8Check.medianUs),
  );
  row('  of which: the redacted view (screen; JSON summarising encoded runs)', (r) =>
    ms(r.parts.view.medianUs),
  );
  row(
    'store: durable append with the capture − without (without → with)',
    (r) =>
      `${ms(r.append.with.medianUs - r.append.without.medianUs)} (${ms(r.append.without.medianUs)} → ${ms(r.append.with.medianUs)})`,
  );
  row(
    '  compare: SQLite alone, one transaction inserting a blob of that size (WAL, FULL, default autocheckpoint)',
    (r) => ms(r.sqlite.checkpointed.medianUs),
  );
  row('    the same without WAL autocheckpoint (diagnostic)', (r) => ms(r.sqlite.unchecked.medianUs));
  row('raw write + fsync of as many bytes, same directory', (r) => ms(r.fsync.medianUs));
  write('');
  write(
    `parts: the capture stage and its parts are timed in this process (${results.map((result) => `${result.parts.stage.samples} at ${result.size.label}`).join(', ')}), on the real \`read_media_file\` result of the file; the appends (the same counts, in ${ROUNDS} alternating rounds) use a fresh content of the captured size each time, with a small intent.`,
  );
}

await benchmark();
