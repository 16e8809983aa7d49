/**
 * @module bench/adapter-openai-agents
 * What `reins/openai-agents` adds to a tool call of an OpenAI Agents SDK run: the same agent run (a
 * scripted model asks for one tool call, then answers) with the tool unwrapped, governed in-process
 * (`LocalGovernor`), and governed over the remote protocol (`RemoteGovernor`, HTTP on 127.0.0.1 to a
 * gateway listening in this process). The three are interleaved run by run, so they share the same
 * machine state; the overhead per call is a variant's time minus the unwrapped one's. Each governed
 * call is opened twice (`needsApproval`, then at execution under the same callId) and completed once:
 * an intent and an outcome record, durable (SQLite, WAL, synchronous=FULL) before the call goes on.
 * Each governor works in a session of its own, which grows by one call per run.
 *   npm run build && npx tsc -p tsconfig.bench.json && node dist-bench/bench/adapter-openai-agents.js [--quick]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  Agent,
  type Model,
  type ModelRequest,
  type ModelResponse,
  Runner,
  tool,
  Usage,
} from '@openai/agents';
import { z } from 'zod';
import type { ToolGovernor } from '../src/adapters/governor.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { reinsTool } from '../src/adapters/openai-agents.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { loadConfigOrThrow } from '../src/cli/deployment.js';
import { startHttpGatewayProcess } from '../src/cli/gateway-process.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { format, machine, type Summary, summarise } from './measure.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const QUICK = process.argv.includes('--quick');
const RUNS = QUICK ? 100 : 1_000;
const WARMUP = QUICK ? 20 : 100;
const write = (line: string) => process.stdout.write(`${line}\n`);

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: adapter-bench }
tools: [{ server: app, name: echo, risk: low, effects: [read] }]
rules: [{ id: echo, effect: allow, tool: { server: app, name: echo }, reason: echo is harmless }]
`;

/** Asks for one `echo` call (a new call id each run), then answers with its result. */
class OneCallModel implements Model {
  private next = 0;
  async getResponse(request: ModelRequest): Promise<ModelResponse> {
    const input = typeof request.input === 'string' ? [] : request.input;
    const result = input.find((item) => item.type === 'function_call_result');
    if (result) return { usage: new Usage(), output: [answer('done')] };
    const callId = `call-${this.next++}`;
    const args = JSON.stringify({ text: `hello ${callId}` });
    return {
      usage: new Usage(),
      output: [{ type: 'function_call', callId, name: 'echo', arguments: args, status: 'completed' }],
    };
  }
  // biome-ignore lint/correctness/useYield: this model does not stream
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not streamed');
  }
}

function answer(text: string) {
  return {
    type: 'message' as const,
    role: 'assistant' as const,
    status: 'completed' as const,
    content: [{ type: 'output_text' as const, text }],
  };
}

const echoOptions = {
  name: 'echo',
  description: 'Echo the text',
  parameters: z.object({ text: z.string() }),
  execute: async (input: { text: string }) => input.text,
};

function agentWith(governor: ToolGovernor | undefined): Agent {
  const echo = governor ? reinsTool({ governor, server: 'app' }, echoOptions) : tool(echoOptions);
  return new Agent({ name: 'bench', instructions: 'echo', model: new OneCallModel(), tools: [echo] });
}

/** A deployment directory set up with the built CLI: keys, one agent, credentials for its sessions. */
function deployment(): { directory: string; config: string; token: (session: string) => string } {
  const directory = mkdtempSync(join(tmpdir(), 'reins-oaia-bench-'));
  const config = join(directory, 'reins.yaml');
  writeFileSync(join(directory, 'policy.yaml'), POLICY);
  writeFileSync(
    config,
    `apiVersion: reins.dev/v1
kind: Gateway
policy: policy.yaml
store: { sqlite: state/audit.db }
keys:
  credentials: { directory: secrets/credentials }
  checkpoints: { directory: secrets/checkpoints }
lock: pins/reins.lock
listen: { host: 127.0.0.1, port: 0 }
`,
  );
  const reins = (...args: string[]) => {
    const run = spawnSync(process.execPath, [join(ROOT, 'bin/reins.js'), ...args, '--config', config], {
      cwd: directory,
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`reins ${args.join(' ')}: ${run.stderr}`);
    return run.stdout.trim();
  };
  reins('keys', 'generate');
  reins('agents', 'create', 'bench', '--owner', 'bench@example.com', '--scopes', 'app/*');
  return { directory, config, token: (session) => reins('agents', 'token', 'bench', '--session', session) };
}

interface Phase {
  readonly name: string;
  readonly plain: Summary;
  readonly governed: Summary;
  readonly steps: { readonly open: Summary; readonly reopen: Summary; readonly complete: Summary };
}

/** Runs the unwrapped and the governed agent alternately, then times the governor's own steps. */
async function phase(name: string, governor: ToolGovernor): Promise<Phase> {
  const runner = new Runner({ tracingDisabled: true });
  const agents = [agentWith(undefined), agentWith(governor)];
  const samples: number[][] = [[], []];
  for (let run = 0; run < WARMUP + RUNS; run++) {
    for (const [index, agent] of agents.entries()) {
      const started = process.hrtime.bigint();
      const result = await runner.run(agent, 'echo hello');
      const micros = Number(process.hrtime.bigint() - started) / 1_000;
      if (result.finalOutput !== 'done') throw new Error(`${name}: the run did not finish`);
      if (run >= WARMUP) samples[index]?.push(micros);
    }
  }
  return {
    name,
    plain: summarise(samples[0] ?? []),
    governed: summarise(samples[1] ?? []),
    steps: await steps(governor, name),
  };
}

/** The governor's steps for one call as the adapter makes them: open, open again, complete. */
async function steps(governor: ToolGovernor, name: string): Promise<Phase['steps']> {
  const times = { open: [] as number[], reopen: [] as number[], complete: [] as number[] };
  const timed = async <T>(into: number[], step: () => Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    const value = await step();
    into.push(Number(process.hrtime.bigint() - started) / 1_000);
    return value;
  };
  for (let index = 0; index < Math.min(RUNS, 300); index++) {
    const request = { tool: 'app/echo', args: { text: 'x' }, callId: `${name}-steps-${index}` };
    const state = await timed(times.open, () => governor.open(request));
    await timed(times.reopen, () => governor.open(request));
    await timed(times.complete, () => governor.complete(state.id, { ok: true, result: 'x' }));
  }
  return {
    open: summarise(times.open),
    reopen: summarise(times.reopen),
    complete: summarise(times.complete),
  };
}

async function main(): Promise<void> {
  const setup = deployment();
  const log = () => {};
  const phases: Phase[] = [];
  try {
    // one Reins at a time on the store: first in-process, then a gateway listening in this process
    const inProcess = await openInProcessReins({ config: setup.config, log });
    try {
      phases.push(
        await phase(
          'in-process (LocalGovernor)',
          new LocalGovernor({ ...inProcess, token: setup.token('local') }),
        ),
      );
    } finally {
      await inProcess.close();
    }
    const { config, directory } = loadConfigOrThrow(setup.config);
    const gateway = await startHttpGatewayProcess(config, directory, log);
    try {
      const url = gateway.endpoint.replace(/\/mcp$/, '');
      phases.push(
        await phase(
          'remote (RemoteGovernor, HTTP)',
          new RemoteGovernor({ url, token: setup.token('remote') }),
        ),
      );
    } finally {
      await gateway.close();
    }
  } finally {
    rmSync(setup.directory, { recursive: true, force: true });
  }
  report(phases);
}

const ms = (micros: number) => format(micros / 1_000);
const pair = (summary: Summary) => `${ms(summary.medianUs)} / ${ms(summary.p99Us)}`;

function report(phases: readonly Phase[]): void {
  write(`# reins/openai-agents: one tool call per agent run, ${RUNS} runs per variant (after ${WARMUP})`);
  write(`# ${machine()}`);
  write('| governed by | unwrapped run (ms) | governed run (ms) | overhead per call (ms) |');
  write('| --- | ---: | ---: | ---: |');
  for (const { name, plain, governed } of phases) {
    const overhead = `${ms(governed.medianUs - plain.medianUs)} / ${ms(governed.p99Us - plain.p99Us)}`;
    write(`| ${name} | ${pair(plain)} | ${pair(governed)} | ${overhead} |`);
  }
  write('(median / p99; overhead = governed minus unwrapped, at the median and at the p99)');
  write('');
  write(
    `| governor steps of one call, after the ${WARMUP + RUNS} runs in the session (ms) | open | open again, same callId | complete |`,
  );
  write('| --- | ---: | ---: | ---: |');
  for (const { name, steps: step } of phases)
    write(`| ${name} | ${pair(step.open)} | ${pair(step.reopen)} | ${pair(step.complete)} |`);
}

await main();
