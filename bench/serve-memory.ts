/**
 * @module bench/serve-memory
 * Whether a long-running `reins serve` stays flat in memory under steady load. The built `reins serve`
 * runs on the embedded SQLite default in a temporary directory, with a small policy (one allowed tool,
 * a per-session limit) and `@modelcontextprotocol/server-everything` as its stdio upstream. N clients
 * (the official SDK over Streamable HTTP, on 127.0.0.1) call `everything__echo` as fast as they can;
 * each opens a new MCP session every K calls (and ends it with HTTP DELETE), and a new Reins session (a
 * new credential with a new `sid`) every M MCP sessions, so both kinds of session keep arriving.
 * The serve process's resident set (VmRSS in /proc/<pid>/status) is sampled every few seconds; the
 * result is its growth between the sample after the warm-up and the last one.
 *
 * Run: npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/serve-memory.js
 *        [--seconds 600] [--clients 8] [--calls-per-session 50] [--sessions-per-credential 2]
 *        [--warmup 30] [--interval 5] [--heap-snapshots <dir>] [--reins <another checkout>/bin/reins.js]
 * `--heap-snapshots <dir>` starts serve with `--heapsnapshot-signal=SIGUSR2` and writes a heap snapshot
 * of it into <dir> after the warm-up and at the end (each pauses serve for a few seconds: for finding
 * where memory goes, not for the figures).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AgentRegistry } from '../src/auth/agent-registry.js';
import { Authenticator } from '../src/auth/authenticator.js';
import { credentialKeysOf, openIdentityStore, storeOptionsOfConfig } from '../src/cli/audit-store.js';
import { loadConfigOrThrow } from '../src/cli/deployment.js';
import { machine } from './measure.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '600' },
    clients: { type: 'string', default: '8' },
    'calls-per-session': { type: 'string', default: '50' },
    'sessions-per-credential': { type: 'string', default: '2' },
    warmup: { type: 'string', default: '30' },
    interval: { type: 'string', default: '5' },
    'heap-snapshots': { type: 'string' },
    reins: { type: 'string' },
  },
});
const positive = (name: keyof typeof flags): number => {
  const value = Number(flags[name]);
  if (!(Number.isInteger(value) && value > 0)) throw new Error(`--${name} must be a positive integer`);
  return value;
};
const SECONDS = positive('seconds');
const CLIENTS = positive('clients');
const CALLS_PER_SESSION = positive('calls-per-session');
const SESSIONS_PER_CREDENTIAL = positive('sessions-per-credential');
const WARMUP_SECONDS = positive('warmup');
const INTERVAL_SECONDS = positive('interval');
const SNAPSHOTS = flags['heap-snapshots'] === undefined ? undefined : resolve(flags['heap-snapshots']);
if (WARMUP_SECONDS >= SECONDS) throw new Error('--warmup must be shorter than --seconds');

// compiled to dist-bench/bench/: the repository is two levels up
const ROOT = resolve(import.meta.dirname, '..', '..');
/** The build that serves: this checkout's, or another's `bin/reins.js` (`--reins`, for a before/after). */
const BIN = flags.reins === undefined ? join(ROOT, 'bin', 'reins.js') : resolve(flags.reins);
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const MESSAGE = 'reins serve memory bench';
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: serve-memory-bench }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - id: echo
    effect: allow
    principal: { agents: "bench-*" }
    tool: { server: everything, name: echo }
    reason: the benchmark calls a harmless tool
limits:
  - { id: per-session, per: [session], window: 1m, max: 1000000, reason: a session cap that is never reached }
`;
const write = (line: string) => process.stdout.write(`${line}\n`);

/**
 * Loaded into serve (main thread and the audit writer's worker thread alike): each V8 isolate reports
 * its heap on stderr every second, so that the resident set can be split into JavaScript heaps and
 * the rest (SQLite, buffers, the allocator). On SIGURG (ignored by default) the main thread runs a
 * full garbage collection and reports what is live: retention, without the heap's slack. Changes
 * nothing else in serve (it runs with --expose-gc for that).
 */
const HEAP_REPORTER = `data:text/javascript,${encodeURIComponent(
  `import { isMainThread, threadId } from 'node:worker_threads';
setInterval(() => {
  const { heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
  process.stderr.write('[bench-heap ' + (isMainThread ? 'main' : 'worker-' + threadId) + '] ' +
    JSON.stringify({ heapTotal, heapUsed, external, arrayBuffers }) + '\\n');
}, 1000).unref();
if (isMainThread) process.on('SIGURG', () => {
  globalThis.gc();
  process.stderr.write('[bench-live] ' + process.memoryUsage().heapUsed + '\\n');
});`,
)}`;

interface HeapReport {
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}
/** The latest report of each isolate in serve, by thread ('main', 'worker-1', ...). */
const heaps = new Map<string, HeapReport>();
/** Who waits for serve's next live-heap report (after SIGURG). */
let onLive: ((bytes: number) => void) | undefined;

/** The main thread's live heap, in bytes, right after a full garbage collection in serve. */
function liveHeap(pid: number): Promise<number> {
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('serve did not report its live heap in 60 s')), 60_000);
    onLive = (bytes) => {
      clearTimeout(timer);
      onLive = undefined;
      done(bytes);
    };
    process.kill(pid, 'SIGURG');
  });
}

interface Sample {
  readonly seconds: number;
  readonly calls: number;
  readonly rssKiB: number;
  /** Of which anonymous memory (heaps, malloc) and file pages mapped (SQLite's shared memory, code). */
  readonly anonKiB: number;
  readonly fileKiB: number;
  /** V8 heaps as serve last reported them, in bytes: the main thread's, and all worker threads' together. */
  readonly mainHeap: HeapReport | undefined;
  readonly workerHeapTotal: number;
}

function heapSample(): Pick<Sample, 'mainHeap' | 'workerHeapTotal'> {
  let workerHeapTotal = 0;
  for (const [thread, report] of heaps) if (thread !== 'main') workerHeapTotal += report.heapTotal;
  return { mainHeap: heaps.get('main'), workerHeapTotal };
}

/** The resident set of a process and its parts, in KiB (Linux). */
function memoryOf(pid: number): { rssKiB: number; anonKiB: number; fileKiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => {
    const line = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (line === null) throw new Error(`no ${name} for process ${pid}`);
    return Number(line[1]);
  };
  return { rssKiB: field('VmRSS'), anonKiB: field('RssAnon'), fileKiB: field('RssFile') + field('RssShmem') };
}

const mib = (kib: number) => (kib / 1024).toFixed(1);
const mibOfBytes = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function heapColumns(sample: Sample): string {
  const main = sample.mainHeap;
  if (main === undefined) return ' | | ';
  return `${mibOfBytes(main.heapUsed)} / ${mibOfBytes(main.heapTotal)} | ${mibOfBytes(main.external)} | ${mibOfBytes(sample.workerHeapTotal)}`;
}

/** The deployment: policy, reins.yaml, the agents; returns where the configuration is. */
async function prepare(directory: string): Promise<string> {
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  const config = join(directory, 'reins.yaml');
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: reins.db }
upstreams:
  - name: everything
    stdio: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(EVERYTHING)}, stdio] }
listen: { host: 127.0.0.1, port: 0, path: /mcp }
control: { listen: { host: 127.0.0.1, port: 0 } }
`,
  );
  const identity = await openIdentityStore(storeOptionsOf(config));
  const agents = new AgentRegistry(identity);
  for (let index = 0; index < CLIENTS; index++)
    await agents.create({ id: `bench-${index}`, owner: 'bench@example.com', scopes: ['everything/*'] });
  await identity.close();
  return config;
}

function storeOptionsOf(config: string) {
  const { config: parsed, directory } = loadConfigOrThrow(config);
  return storeOptionsOfConfig(parsed, directory);
}

/** Starts `reins serve`; resolves with the process and its MCP endpoint. */
async function startServe(directory: string, config: string): Promise<{ child: ChildProcess; url: string }> {
  const nodeOptions = [
    '--expose-gc',
    '--import',
    HEAP_REPORTER,
    ...(SNAPSHOTS ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${SNAPSHOTS}`] : []),
  ];
  const child = spawn(process.execPath, [...nodeOptions, BIN, 'serve', '--config', config], {
    cwd: directory,
    env: { ...(process.env as Record<string, string>), REINS_DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`reins serve did not start in 30 s:\n${output}`)), 30_000);
    const listen = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8_000);
      const found = /MCP gateway on (\S+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        done(found[1] as string);
      }
    };
    child.stdout?.on('data', listen);
    child.stderr?.on('data', listen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`reins serve exited with ${code}:\n${output}`));
    });
  });
  // keep reading (a full pipe would block serve); keep the heap reports
  child.stdout?.on('data', () => {});
  let partial = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const report = /^\[bench-heap (\S+)\] (.*)$/.exec(line);
      if (report) heaps.set(report[1] as string, JSON.parse(report[2] as string) as HeapReport);
      const live = /^\[bench-live\] (\d+)$/.exec(line);
      if (live) onLive?.(Number(live[1]));
    }
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** Writes a heap snapshot of serve (SIGUSR2) and waits until the file is complete. */
async function snapshot(pid: number, directory: string): Promise<string> {
  const before = new Set(readdirSync(directory));
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await new Promise((done) => setTimeout(done, 500));
    const file = readdirSync(directory).find((name) => !before.has(name) && name.endsWith('.heapsnapshot'));
    if (file === undefined) continue;
    // the file is written as it is taken: complete once its JSON closes
    const text = readFileSync(join(directory, file), 'utf8');
    if (text.trimEnd().endsWith('}')) return join(directory, file);
  }
}

interface Probe {
  /** Live heap of serve's main thread after a full GC, in bytes. */
  readonly live: number;
  readonly snapshot: string | undefined;
}

/** What is live in serve now (and a heap snapshot with --heap-snapshots). */
async function probe(pid: number): Promise<Probe> {
  const live = await liveHeap(pid);
  return { live, snapshot: SNAPSHOTS ? await snapshot(pid, SNAPSHOTS) : undefined };
}

interface Counters {
  calls: number;
  mcpSessions: number;
  reinsSessions: number;
  failures: number;
  lastFailure: string;
}

/**
 * One client: a new credential (Reins session) every SESSIONS_PER_CREDENTIAL MCP sessions, a new MCP
 * session every CALLS_PER_SESSION calls, each ended with HTTP DELETE.
 */
async function client(
  index: number,
  url: string,
  authenticator: Authenticator,
  deadline: number,
  counters: Counters,
): Promise<void> {
  let credentials = 0;
  while (Date.now() < deadline) {
    const { token } = await authenticator.issue(`bench-${index}`, {
      sessionId: `bench-${index}-${credentials++}`,
      ttlSeconds: 3_600,
    });
    counters.reinsSessions++;
    for (let session = 0; session < SESSIONS_PER_CREDENTIAL && Date.now() < deadline; session++) {
      const transport = new StreamableHTTPClientTransport(new URL(url), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      });
      const mcp = new Client({ name: 'reins-serve-memory-bench', version: '0.1.0' });
      try {
        await mcp.connect(transport);
        counters.mcpSessions++;
        await mcp.listTools();
        for (let call = 0; call < CALLS_PER_SESSION && Date.now() < deadline; call++) {
          const result = (await mcp.callTool({
            name: 'everything__echo',
            arguments: { message: MESSAGE },
          })) as CallToolResult;
          const first = result.content?.[0];
          if (result.isError || first?.type !== 'text' || first.text !== `Echo: ${MESSAGE}`)
            throw new Error(`unexpected answer: ${JSON.stringify(result).slice(0, 300)}`);
          counters.calls++;
        }
        await transport.terminateSession();
      } catch (error) {
        counters.failures++;
        counters.lastFailure = String(error);
      } finally {
        await mcp.close().catch(() => {});
      }
    }
  }
}

async function main(): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'reins-serve-memory-'));
  if (SNAPSHOTS) mkdirSync(SNAPSHOTS, { recursive: true });
  let serve: ChildProcess | undefined;
  let authenticator: Authenticator | undefined;
  let identity: Awaited<ReturnType<typeof openIdentityStore>> | undefined;
  process.once('exit', () => {
    serve?.kill('SIGKILL');
    rmSync(directory, { recursive: true, force: true });
  });
  try {
    const config = await prepare(directory);
    const started = await startServe(directory, config);
    serve = started.child;
    const pid = serve.pid as number;
    const storeOptions = storeOptionsOf(config);
    // the bench issues credentials as `reins agents token` would, with the key serve created
    identity = await openIdentityStore(storeOptions);
    authenticator = await Authenticator.open({ store: identity, keys: credentialKeysOf(storeOptions) });

    write(`machine: ${machine()}`);
    write(`serving build: ${BIN}`);
    write(
      `command: node dist-bench/bench/serve-memory.js --seconds ${SECONDS} --clients ${CLIENTS} --calls-per-session ${CALLS_PER_SESSION} --sessions-per-credential ${SESSIONS_PER_CREDENTIAL} --warmup ${WARMUP_SECONDS} --interval ${INTERVAL_SECONDS}`,
    );
    write(
      `inputs: reins serve (SQLite, durability full) → server-everything (stdio); ${CLIENTS} SDK clients over Streamable HTTP; a new MCP session every ${CALLS_PER_SESSION} calls (ended with DELETE), a new Reins session (credential, sid) every ${SESSIONS_PER_CREDENTIAL} MCP sessions`,
    );
    write(`RSS of serve at start: ${mib(memoryOf(pid).rssKiB)} MiB`);
    write('');
    write(
      '| s | calls | calls/s since last | RSS MiB | of which anonymous | of which file and shared | main heap used / total MiB | main external MiB | worker heaps total MiB |',
    );
    write('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');

    const counters: Counters = { calls: 0, mcpSessions: 0, reinsSessions: 0, failures: 0, lastFailure: '' };
    const begun = Date.now();
    const deadline = begun + SECONDS * 1_000;
    const samples: Sample[] = [];
    let warm: Sample | undefined;
    let warmProbe: Promise<Probe> | undefined;
    const take = () => {
      const sample: Sample = {
        seconds: (Date.now() - begun) / 1_000,
        calls: counters.calls,
        ...memoryOf(pid),
        ...heapSample(),
      };
      const previous = samples.at(-1) ?? { seconds: 0, calls: 0 };
      samples.push(sample);
      const rate = (sample.calls - previous.calls) / (sample.seconds - previous.seconds);
      write(
        `| ${sample.seconds.toFixed(0)} | ${sample.calls} | ${rate.toFixed(0)} | ${mib(sample.rssKiB)} | ${mib(sample.anonKiB)} | ${mib(sample.fileKiB)} | ${heapColumns(sample)} |`,
      );
      if (warm === undefined && sample.seconds >= WARMUP_SECONDS) {
        warm = sample;
        warmProbe = probe(pid);
      }
    };
    const sampler = setInterval(take, INTERVAL_SECONDS * 1_000);
    await Promise.all(
      Array.from({ length: CLIENTS }, (_, index) =>
        client(index, started.url, authenticator as Authenticator, deadline, counters),
      ),
    );
    clearInterval(sampler);
    take();
    const end = samples.at(-1) as Sample;
    const endProbe = await probe(pid);

    const seconds = end.seconds;
    write('');
    write(`calls: ${end.calls} in ${seconds.toFixed(1)} s (${(end.calls / seconds).toFixed(0)} calls/s)`);
    write(
      `MCP sessions opened: ${counters.mcpSessions}; Reins sessions (credentials): ${counters.reinsSessions}; failed MCP sessions: ${counters.failures}${counters.failures ? ` (last: ${counters.lastFailure})` : ''}`,
    );
    if (warm === undefined || warmProbe === undefined) throw new Error('no sample after the warm-up');
    const warmProbed = await warmProbe;
    const growthKiB = end.rssKiB - warm.rssKiB;
    const callsAfter = end.calls - warm.calls;
    write(`RSS after ${WARMUP_SECONDS} s warm-up (at ${warm.seconds.toFixed(0)} s): ${mib(warm.rssKiB)} MiB`);
    write(`RSS at the end (${seconds.toFixed(0)} s): ${mib(end.rssKiB)} MiB`);
    write(
      `growth: ${mib(growthKiB)} MiB over ${callsAfter} calls (${callsAfter > 0 ? ((growthKiB * 1024) / callsAfter).toFixed(0) : 'n/a'} bytes per call)`,
    );
    write(`peak RSS: ${mib(Math.max(...samples.map((sample) => sample.rssKiB)))} MiB`);
    const liveGrowth = endProbe.live - warmProbed.live;
    write(
      `live JavaScript heap of the main thread after a full GC: ${mibOfBytes(warmProbed.live)} MiB after the warm-up, ${mibOfBytes(endProbe.live)} MiB at the end: ${liveGrowth >= 0 ? '+' : ''}${mibOfBytes(liveGrowth)} MiB (${callsAfter > 0 ? (liveGrowth / callsAfter).toFixed(0) : 'n/a'} bytes per call)`,
    );
    if (warmProbed.snapshot && endProbe.snapshot)
      write(`heap snapshots: ${warmProbed.snapshot} ${endProbe.snapshot}`);
  } finally {
    await authenticator?.close();
    await identity?.close();
    if (serve) await stop(serve);
    rmSync(directory, { recursive: true, force: true });
  }
}

await main();
