/**
 * @module bench/stdio-speed
 * Issue 20's stdio targets, measured in one run with every path timed in turns (blocks of calls, so
 * bursts of other work on the machine hit them alike): the official SDK client calls `echo` of
 * `@modelcontextprotocol/server-everything`
 * - directly;
 * - through a bare relay (an SDK Server forwarding to an SDK Client, nothing else: the cost of the hop;
 *   bench/gateway-latency.ts `--relay-stdio`);
 * - through the same relay writing each call down before forwarding it (durably) and after: to a plain
 *   file, a line fdatasync'd and a line not (`--journal-file`: the least storage there is), and to SQLite,
 *   a row fsync'd and a row not (`--journal`): the floor of any durable gateway in this pipeline;
 * - through `reins mcp` with the default durability (`causal`: the intent fsync'd before the tool runs,
 *   the outcome right after the result is released; decision 0028), with `full` (both fsync'd before
 *   the result goes back: the default before issue 20), and with `process` (no fsync per commit);
 * - with `--baseline <dir>`: `reins mcp` of another build (a checkout with its own dist/, e.g. the
 *   commit before issue 20), with its own default;
 * and a raw 512-byte write + fsync in the stores' directory, in the same turns: the floor one durable
 * record costs. Targets: Reins (default) − relay ≤ one fsync + 150 µs (medians); Reins p99 ≤ 3× the
 * relay's p99.
 *
 * Run: npm run bench:stdio-speed [-- --calls <n>] [-- --baseline <dir>]
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  auditRecords,
  closeAllClients,
  filesystemOf,
  measureInterleaved,
  type Path,
  ROOT,
  registerAgent,
  reinsMcpArgs,
  removeTemporaryDirectories,
  stdioPath,
  temporaryDirectory,
} from './mcp-bench.js';
import { format, machine, summarise } from './measure.js';

const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(name);
  return at >= 0 ? argv[at + 1] : undefined;
};
const CALLS = Number(option('--calls') ?? 3_000);
const WARMUP = 300;
const BLOCK = 100;
const baseline = option('--baseline');
const AGENT = 'bench-agent';
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const RELAY = join(ROOT, 'dist-bench', 'bench', 'gateway-latency.js');
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: stdio-speed }
tools:
  - { server: everything, name: echo, risk: low, effects: [read] }
  - { server: everything, name: "*", risk: high, effects: [external] }
rules:
  - { id: echo, effect: allow, principal: { agents: ${AGENT} }, tool: { server: everything, name: echo }, reason: harmless }
`;
const write = (line: string) => process.stdout.write(`${line}\n`);

async function store(parent: string, name: string): Promise<string> {
  const directory = temporaryDirectory(parent, `${name}-`);
  (await registerAgent(directory, { policy: POLICY, agent: AGENT, scopes: ['everything/*'] })).close();
  return directory;
}

async function main(): Promise<void> {
  const parent = temporaryDirectory(tmpdir(), 'reins-stdio-speed-');
  const upstream = [EVERYTHING, 'stdio'];
  const reins = (directory: string, durability?: 'causal' | 'full' | 'process', bin?: string) =>
    reinsMcpArgs({
      store: directory,
      agent: AGENT,
      name: 'everything',
      upstream,
      ...(durability !== undefined ? { durability } : {}),
      bin,
    });
  const stores = {
    causal: await store(parent, 'causal'),
    full: await store(parent, 'full'),
    process: await store(parent, 'process'),
    baseline: baseline ? await store(parent, 'baseline') : undefined,
  };
  const paths: Path[] = [
    await stdioPath('direct: SDK client → server-everything', 'echo', upstream, parent),
    await stdioPath(
      'bare relay (peer): SDK client → SDK Server+Client → server-everything',
      'echo',
      [RELAY, '--relay-stdio', '--', process.execPath, ...upstream],
      parent,
    ),
    await stdioPath(
      "durable relay, plain file: the bare relay + one line appended and fdatasync'd before forwarding, one after",
      'echo',
      [
        RELAY,
        '--relay-stdio',
        '--journal-file',
        join(temporaryDirectory(parent, 'journal-'), 'calls.jsonl'),
        '--',
        process.execPath,
        ...upstream,
      ],
      parent,
    ),
    await stdioPath(
      "durable relay, SQLite: the bare relay + one SQLite row fsync'd before forwarding, one after",
      'echo',
      [
        RELAY,
        '--relay-stdio',
        '--journal',
        join(temporaryDirectory(parent, 'journal-'), 'calls.db'),
        '--',
        process.execPath,
        ...upstream,
      ],
      parent,
    ),
    await stdioPath(
      'via Reins, durability causal (the default)',
      'everything__echo',
      reins(stores.causal),
      parent,
    ),
    await stdioPath('via Reins, durability full', 'everything__echo', reins(stores.full, 'full'), parent),
    await stdioPath(
      'via Reins, durability process (no fsync per commit)',
      'everything__echo',
      reins(stores.process, 'process'),
      parent,
    ),
  ];
  if (baseline && stores.baseline)
    paths.push(
      await stdioPath(
        `via Reins, baseline build ${baseline} (its own default)`,
        'everything__echo',
        reins(stores.baseline, undefined, join(baseline, 'bin', 'reins.js')),
        parent,
      ),
    );
  // the fsync floor takes its turn like a path: a block of raw fsyncs between the rounds
  const fsyncSamples: number[] = [];
  const probe = openSync(join(parent, 'fsync-probe'), 'a');
  const record = Buffer.alloc(512, 0x61);
  const fsyncPath: Path = { label: 'raw fsync', client: paths[0]?.client as Path['client'], tool: '' };
  const measured = await measureInterleaved(
    [...paths, fsyncPath],
    CALLS,
    async (path) => {
      if (path === fsyncPath) {
        const started = process.hrtime.bigint();
        writeSync(probe, record);
        fsyncSync(probe);
        const sample = Number(process.hrtime.bigint() - started) / 1_000;
        fsyncSamples.push(sample);
        return sample;
      }
      const started = process.hrtime.bigint();
      const result = await path.client.callTool({ name: path.tool, arguments: { message: randomUUID() } });
      if (result.isError) throw new Error(`${path.label}: ${JSON.stringify(result.content)}`);
      return Number(process.hrtime.bigint() - started) / 1_000;
    },
    { warmup: WARMUP, block: BLOCK },
  );
  await closeAllClients();
  closeSync(probe);
  for (const directory of [stores.causal, stores.full, stores.process])
    if ((await auditRecords(directory)) < 2 * CALLS) throw new Error(`${directory}: records missing`);

  write(`machine: ${machine()}`);
  write(`command: npm run bench:stdio-speed -- --calls ${CALLS}${baseline ? ` --baseline ${baseline}` : ''}`);
  write(
    `inputs: ${CALLS} sequential calls per path after ${WARMUP} warm-up, paths (and the raw fsync) taking turns in blocks of ${BLOCK}; stores on ${filesystemOf(parent)} (${parent}); upstream ${dirname(EVERYTHING)}`,
  );
  write('');
  write('| path | calls | median µs | p99 µs | CPU µs/call of the answering process |');
  write('| --- | ---: | ---: | ---: | ---: |');
  const rows = measured.slice(0, paths.length);
  for (const [index, path] of paths.entries()) {
    const row = rows[index];
    if (row === undefined) continue;
    write(
      `| ${path.label} | ${row.latency.samples} | ${format(row.latency.medianUs, 1)} | ${format(row.latency.p99Us, 1)} | ${row.cpuUs === undefined ? 'n/a' : format(row.cpuUs, 0)} |`,
    );
  }
  const fsync = summarise(fsyncSamples.slice(WARMUP));
  write(
    `| raw 512-byte write + fsync, same directory, same turns | ${fsync.samples} | ${format(fsync.medianUs, 1)} | ${format(fsync.p99Us, 1)} | |`,
  );
  const [direct, relay, plainFloor, floor, causal, full, processMode] = rows;
  if (!direct || !relay || !plainFloor || !floor || !causal || !full || !processMode) return;
  const d = (a: { latency: { medianUs: number } }, b: { latency: { medianUs: number } }) =>
    a.latency.medianUs - b.latency.medianUs;
  write('');
  write('| difference of medians | µs |');
  write('| --- | ---: |');
  write(`| the MCP hop: relay − direct | ${format(d(relay, direct), 1)} |`);
  write(
    `| durable relay, plain file − relay: one fdatasync'd append and one append, in this pipeline | ${format(d(plainFloor, relay), 1)} |`,
  );
  write(
    `| durable relay, SQLite − relay: one fsync'd commit and one commit, in this pipeline | ${format(d(floor, relay), 1)} |`,
  );
  write(`| Reins (causal) − relay | ${format(d(causal, relay), 1)} |`);
  write(
    `| Reins (causal) − durable relay: governance beyond the SQLite floor | ${format(d(causal, floor), 1)} |`,
  );
  write(`| Reins (full) − relay | ${format(d(full, relay), 1)} |`);
  write(
    `| Reins (process) − relay: Reins without fsync on the critical path | ${format(d(processMode, relay), 1)} |`,
  );
  write(
    `| Reins (causal) − Reins (process): what the one fsync costs a call | ${format(d(causal, processMode), 1)} |`,
  );
  write(`| Reins (full) − Reins (causal): the second fsync | ${format(d(full, causal), 1)} |`);
  const added = d(causal, relay);
  const bound = fsync.medianUs + 150;
  write('');
  write(
    `target 1: Reins (default) − relay ${format(added, 1)} µs ≤ one fsync + 150 µs = ${format(bound, 1)} µs: ${added <= bound ? 'met' : 'NOT met'}`,
  );
  for (const [label, row] of [
    ['plain file', plainFloor],
    ['SQLite', floor],
  ] as const) {
    const floorAdded = d(row, relay);
    write(
      `the floor, ${label}: durable relay − relay ${format(floorAdded, 1)} µs ${floorAdded <= bound ? '≤' : '>'} ${format(bound, 1)} µs (the target leaves ${format(bound - floorAdded, 1)} µs for everything else)`,
    );
  }
  const p99Bound = 3 * relay.latency.p99Us;
  write(
    `target 2: Reins (default) p99 ${format(causal.latency.p99Us, 1)} µs ≤ 3 × relay p99 = ${format(p99Bound, 1)} µs: ${causal.latency.p99Us <= p99Bound ? 'met' : 'NOT met'}`,
  );
  removeTemporaryDirectories();
}

await main();
process.exit(0);
