/**
 * @module bench/cli-startup
 * How long `reins` takes to start (issue 20): desktop clients spawn `reins mcp` for every conversation
 * and CI runs `reins policy check` on every push. Measured in one run, the cases taking turns round by
 * round (a burst of other work on a shared machine hits them alike), each a fresh process as users
 * start it:
 * - `node -e 0`: the floor, a Node process that loads nothing;
 * - `node bin/reins.js --help`, and `node bin/reins.js policy check examples/gateway/policy.yaml`;
 * - ready over stdio: the official SDK client spawns `@modelcontextprotocol/server-everything`
 *   directly, connects and has its `listTools` answered; then the same through `reins mcp` (a simple
 *   policy, a SQLite store with the agent registered), the same client, until its `listTools` answers.
 * Printed: wall median and p99 of each, the CPU of each (mean; the children's user + system time from
 * /proc/self/stat, 10 ms ticks), and the differences the targets are about: `--help` and `policy
 * check` against `node -e 0`, `reins mcp` against the upstream alone (difference of the medians, and
 * the median of the differences round by round).
 *
 * With `--profile`, then: where the start of `reins mcp` goes, from its CPU profile (`node --cpu-prof`,
 * which slows it): when the functions of the CLI that begin each phase (in its bundle, dist/bundle,
 * under their own names) first run, in ms after the client spawned it, beside the upstream started
 * alone at the same moment.
 *
 * Run: npm run bench:startup [-- --rounds <n>] [-- --baseline <dir>] [-- --quick] [-- --profile]
 * (builds dist/ first: `reins` runs as `node bin/reins.js`). `--baseline <dir>`: the same cases
 * through another build of Reins (a checkout with its own dist/, e.g. main before a change), in the
 * same rounds, for a before/after in one run. `--quick`: 5 rounds, for a smoke check, not for figures.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  BIN,
  ENV,
  ROOT,
  registerAgent,
  reinsMcpArgs,
  removeTemporaryDirectories,
  temporaryDirectory,
} from './mcp-bench.js';
import { format, machine, summarise } from './measure.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const profile = argv.includes('--profile');
/** Profiled starts of `reins mcp` (--profile). */
const PROFILED_STARTS = 5;
const roundsIndex = argv.indexOf('--rounds');
const ROUNDS = roundsIndex >= 0 ? Number(argv[roundsIndex + 1]) : quick ? 5 : 30;
const baselineIndex = argv.indexOf('--baseline');
const BASELINE_BIN =
  baselineIndex >= 0 ? join(resolve(argv[baselineIndex + 1] ?? ''), 'bin', 'reins.js') : undefined;
/** The targets of issue 20, in ms over the floor of each. */
const TARGETS = { cliOverNodeMs: 100, mcpOverUpstreamMs: 150 };
const AGENT = 'bench';
const POLICY_FILE = join(ROOT, 'examples', 'gateway', 'policy.yaml');
const EVERYTHING = createRequire(import.meta.url).resolve(
  '@modelcontextprotocol/server-everything/dist/index.js',
);
const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: startup-bench }
tools:
  - { server: everything, name: "*", risk: low, effects: [read] }
rules:
  - { id: everything, effect: allow, principal: { agents: ${AGENT} }, tool: { server: everything }, reason: the benchmark lists tools }
`;

const write = (line: string) => process.stdout.write(`${line}\n`);

/** One timing of a case: wall ms, and the CPU ms its processes used (undefined without /proc). */
interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number | undefined;
}

interface Case {
  readonly label: string;
  run(): Promise<Sample> | Sample;
}

/** User + system time of this process' waited-for children so far, in ms (Linux /proc, 100 ticks/s). */
function childrenCpuMs(): number | undefined {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

function cpuSince(before: number | undefined): number | undefined {
  const after = childrenCpuMs();
  return before === undefined || after === undefined ? undefined : after - before;
}

/** `node <args>` to its exit, which must be 0 (a failing command would time nothing useful). */
function processCase(label: string, args: readonly string[], cwd: string): Case {
  return {
    label,
    run: () => {
      const cpu = childrenCpuMs();
      const started = process.hrtime.bigint();
      const result = spawnSync(process.execPath, args, { cwd, env: ENV, encoding: 'utf8' });
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (result.status !== 0)
        throw new Error(`${label}: exit ${result.status}\n${result.stdout}\n${result.stderr}`);
      return { wallMs, cpuMs: cpuSince(cpu) };
    },
  };
}

/** One start of `node <args>` as an MCP server over stdio, until `listTools` answers; then closed. */
async function readyOnce(label: string, args: readonly string[], cwd: string, tools: number) {
  const cpu = childrenCpuMs();
  const startedNs = process.hrtime.bigint();
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
  const client = new Client({ name: 'reins-startup-bench', version: '0.1.0' });
  try {
    await client.connect(transport);
    const listed = await client.listTools();
    const wallMs = Number(process.hrtime.bigint() - startedNs) / 1e6;
    if (listed.tools.length !== tools)
      throw new Error(`${listed.tools.length} tools listed, expected ${tools}`);
    // the client waits for the process to exit: the next case starts on a quiet machine
    await client.close();
    return { startedNs, wallMs, cpuMs: cpuSince(cpu) };
  } catch (error) {
    await client.close().catch(() => {});
    throw new Error(`${label}: ${String(error)}\n${stderr}`);
  }
}

function readyCase(label: string, args: readonly string[], cwd: string, tools: number): Case {
  return {
    label,
    run: async () => {
      const { wallMs, cpuMs } = await readyOnce(label, args, cwd, tools);
      return { wallMs, cpuMs };
    },
  };
}

/** How many tools server-everything lists (through Reins the policy lets the agent see them all). */
async function everythingTools(cwd: string): Promise<number> {
  const client = new Client({ name: 'reins-startup-bench', version: '0.1.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [EVERYTHING],
      env: ENV,
      cwd,
      stderr: 'ignore',
    }),
  );
  const { tools } = await client.listTools();
  await client.close();
  return tools.length;
}

function cases(store: string, work: string, tools: number): Case[] {
  const builds = [
    { name: 'reins', bin: BIN },
    ...(BASELINE_BIN ? [{ name: 'baseline', bin: BASELINE_BIN }] : []),
  ];
  const mcp = (bin: string) =>
    reinsMcpArgs({ store, agent: AGENT, name: 'everything', upstream: [EVERYTHING], bin });
  return [
    processCase('node -e 0', ['-e', '0'], work),
    ...builds.map(({ name, bin }) => processCase(`${name} --help`, [bin, '--help'], work)),
    ...builds.map(({ name, bin }) =>
      processCase(`${name} policy check`, [bin, 'policy', 'check', POLICY_FILE], work),
    ),
    readyCase('upstream direct, ready', [EVERYTHING], work, tools),
    ...builds.map(({ name, bin }) => readyCase(`${name} mcp, ready`, mcp(bin), work, tools)),
  ];
}

/** Every case once per round, starting one case later each round. */
async function measure(all: readonly Case[], rounds: number): Promise<Map<string, Sample[]>> {
  const samples = new Map(all.map((one) => [one.label, [] as Sample[]]));
  for (let round = 0; round < rounds; round++) {
    for (let step = 0; step < all.length; step++) {
      const one = all[(round + step) % all.length] as Case;
      samples.get(one.label)?.push(await one.run());
    }
  }
  return samples;
}

/** The median of values in any unit (summarise names its fields in µs). */
function median(values: readonly number[]): number {
  return summarise(values.slice()).medianUs;
}

function report(samples: Map<string, Sample[]>): void {
  write('');
  write(
    `${'case'.padEnd(28)} ${'median ms'.padStart(10)} ${'p99 ms'.padStart(10)} ${'CPU ms (mean)'.padStart(14)}`,
  );
  for (const [label, runs] of samples) {
    const wall = summarise(runs.map((run) => run.wallMs));
    const cpu = runs.every((run) => run.cpuMs !== undefined)
      ? format(runs.reduce((sum, run) => sum + (run.cpuMs ?? 0), 0) / runs.length, 0)
      : 'n/a';
    write(
      `${label.padEnd(28)} ${format(wall.medianUs, 1).padStart(10)} ${format(wall.p99Us, 1).padStart(10)} ${cpu.padStart(14)}`,
    );
  }
  write('');
  write(
    'differences (ms): median of the case - median of its floor; median of the round-by-round differences',
  );
  const floors: [string, string, number][] = [];
  for (const label of samples.keys()) {
    if (label.endsWith(' --help') || label.endsWith(' policy check'))
      floors.push([label, 'node -e 0', TARGETS.cliOverNodeMs]);
    if (label.endsWith(' mcp, ready'))
      floors.push([label, 'upstream direct, ready', TARGETS.mcpOverUpstreamMs]);
  }
  for (const [label, floor, target] of floors) {
    const runs = samples.get(label) ?? [];
    const base = samples.get(floor) ?? [];
    const ofMedians = median(runs.map((run) => run.wallMs)) - median(base.map((run) => run.wallMs));
    const paired = median(runs.map((run, index) => run.wallMs - (base[index]?.wallMs ?? Number.NaN)));
    const verdict = label.startsWith('baseline')
      ? ''
      : ofMedians <= target
        ? ' (target met)'
        : ' (target missed)';
    write(
      `${`${label} - ${floor}`.padEnd(52)} ${format(ofMedians, 1).padStart(8)} ${format(paired, 1).padStart(8)}   target <= ${target}${verdict}`,
    );
  }
}

/** The phases of a `reins mcp` start, each begun by a function of the CLI (src/cli, bundled). */
const PHASES = [
  ['runCli', 'node started, the command tree built (runCli)'],
  ['runMcp', "the mcp action's modules loaded (runMcp)"],
  ['connectUpstreams', 'policy compiled, agent checked, stores opened: upstream spawned'],
  ['wireOversight', 'upstream connected: initialized, tools listed'],
] as const;

interface CpuProfile {
  /** µs, on the monotonic clock process.hrtime reads. */
  readonly startTime: number;
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** When each phase's function is first on the stack, in ms after `spawnedNs`. */
function phaseTimes(cpu: CpuProfile, spawnedNs: bigint): Map<string, number> {
  const parent = new Map<number, number>();
  const name = new Map<number, string>();
  for (const node of cpu.nodes) {
    name.set(node.id, node.callFrame.functionName);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const wanted = new Set<string>(PHASES.map(([fn]) => fn));
  const first = new Map<string, number>();
  let atUs = cpu.startTime - Number(spawnedNs / 1_000n);
  for (const [index, sample] of cpu.samples.entries()) {
    atUs += cpu.timeDeltas[index] ?? 0;
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const fn = name.get(id) ?? '';
      if (wanted.has(fn) && !first.has(fn)) first.set(fn, atUs / 1_000);
    }
  }
  return first;
}

/** The main thread's profile in `directory` (the largest: the SQLite writer's thread has its own). */
function mainProfile(directory: string): CpuProfile {
  const files = readdirSync(directory).map((file) => join(directory, file));
  const largest = files.sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (largest === undefined) throw new Error(`no CPU profile in ${directory}`);
  return JSON.parse(readFileSync(largest, 'utf8')) as CpuProfile;
}

/** `reins mcp` started under `node --cpu-prof`, each time beside the upstream alone; medians. */
async function profileMcp(store: string, work: string, tools: number): Promise<void> {
  const phases = new Map<string, number[]>(PHASES.map(([fn]) => [fn, []]));
  const ready: number[] = [];
  const direct: number[] = [];
  for (let start = 0; start < PROFILED_STARTS; start++) {
    direct.push((await readyOnce('upstream direct', [EVERYTHING], work, tools)).wallMs);
    const directory = temporaryDirectory(tmpdir(), 'reins-startup-profile-');
    const nodeOptions = ['--cpu-prof', `--cpu-prof-dir=${directory}`];
    const args = reinsMcpArgs({
      store,
      agent: AGENT,
      name: 'everything',
      upstream: [EVERYTHING],
      nodeOptions,
    });
    const run = await readyOnce('reins mcp, profiled', args, work, tools);
    ready.push(run.wallMs);
    for (const [fn, at] of phaseTimes(mainProfile(directory), run.startedNs)) phases.get(fn)?.push(at);
  }
  write('');
  write(
    `where \`reins mcp\` spends its start (median of ${PROFILED_STARTS} starts under --cpu-prof; ms after spawn)`,
  );
  for (const [fn, what] of PHASES) write(`${format(median(phases.get(fn) ?? []), 0).padStart(8)}  ${what}`);
  write(`${format(median(ready), 0).padStart(8)}  ready: listTools answered`);
  write(`${format(median(direct), 0).padStart(8)}  the upstream alone, ready (same moments, not profiled)`);
}

async function main(): Promise<void> {
  const work = temporaryDirectory(tmpdir(), 'reins-startup-bench-');
  const store = temporaryDirectory(tmpdir(), 'reins-startup-store-');
  const identity = await registerAgent(store, { policy: POLICY, agent: AGENT, scopes: ['everything/*'] });
  await identity.close();
  const tools = await everythingTools(work);
  write(`# reins start-up (${ROUNDS} rounds, cases interleaved)`);
  write(
    `machine: ${machine()}; load average at start ${loadavg()
      .map((load) => format(load))
      .join(' ')}`,
  );
  write(`policy check: ${POLICY_FILE}; upstream: server-everything (${tools} tools)`);
  if (BASELINE_BIN) write(`baseline: ${BASELINE_BIN}`);
  const all = cases(store, work, tools);
  // one untimed round: the file cache and the store's first start (keys, lock) are not what is measured
  await measure(all, 1);
  const samples = await measure(all, ROUNDS);
  report(samples);
  if (profile) await profileMcp(store, work, tools);
  write(
    `load average at end ${loadavg()
      .map((load) => format(load))
      .join(' ')}`,
  );
  removeTemporaryDirectories();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
