/**
 * @module bench/adapter-ai-sdk
 * What `reins/ai-sdk` adds to a tool call of the Vercel AI SDK: one `generateText` round (the SDK's mock
 * model calls one tool, gets its result, answers) with the tool as it is, and the same tool governed by
 * Reins, timed one by one and interleaved in the same run, so the difference is the adapter and Reins:
 * - remote: `RemoteGovernor` to a real `reins gateway` process on 127.0.0.1 (an allowed call is three
 *   HTTP requests: open when the SDK asks `needsApproval`, open again at execution, the outcome), every
 *   call decided and recorded durably (SQLite, WAL, synchronous=FULL) with output redaction on;
 * - in process: `LocalGovernor` over the same deployment's store (`reins/in-process`), no HTTP.
 * All calls of one path are in one session; the last tenth is reported too, to show whether the cost
 * grows with the session's log.
 *
 * Run (dist/ first: the gateway runs as `node bin/reins.js`, the CLI issues the credential; with tsx, as
 * test/support finds bin/ from its own place):
 *   npm run build && npx tsx bench/adapter-ai-sdk.ts [calls]
 * `calls` per path, default 1,000 (bounded to 20,000), after 50 untimed ones.
 */
import { generateText, stepCountIs, type ToolSet, tool } from 'ai';
import { z } from 'zod';
import { governTools } from '../src/adapters/ai-sdk.js';
import type { ToolGovernor } from '../src/adapters/governor.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { scriptedModel } from '../test/support/ai-sdk-model.js';
import { startRemoteDeployment } from '../test/support/remote-deployment.js';
import { format, machine, type Summary, summarise } from './measure.js';

const write = (line: string) => process.stdout.write(`${line}\n`);
const CALLS = Math.min(20_000, Math.max(10, Number(process.argv[2] ?? 1_000)));
const WARMUP = 50;

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: ai-sdk-bench }
tools:
  - { server: app, name: echo, risk: low, effects: [read] }
rules:
  - { id: echo, effect: allow, tool: { server: app, name: echo }, reason: echo is harmless }
redaction:
  outputs: { secret: redact }
`;

const plain = {
  echo: tool({
    inputSchema: z.object({ text: z.string() }),
    execute: async ({ text }) => ({ text }),
  }),
};

/** One SDK round with one tool call; resolves with its duration in µs. */
async function oneRound(tools: ToolSet, toolCallId: string): Promise<number> {
  const model = scriptedModel([[{ toolName: 'echo', input: { text: 'hello' }, toolCallId }]]);
  const started = process.hrtime.bigint();
  const result = await generateText({ model, tools, prompt: 'go', stopWhen: stepCountIs(2) });
  const elapsed = Number(process.hrtime.bigint() - started) / 1_000;
  if (!result.text.includes('hello'))
    throw new Error(`the tool result did not reach the model: ${result.text}`);
  return elapsed;
}

interface Measured {
  readonly unwrapped: Summary;
  readonly wrapped: Summary;
  readonly wrappedLastTenth: Summary;
  /** Each governor request, timed: `open (new call)`, `open (same call id)`, `complete`. */
  readonly requests: Map<string, Summary>;
}

/** The governor, timing each request it makes (µs) under its kind. */
function timed(governor: ToolGovernor, samples: Map<string, number[]>): ToolGovernor {
  const opened = new Set<string>();
  const time = async <T>(kind: string, request: Promise<T>): Promise<T> => {
    const started = process.hrtime.bigint();
    const answer = await request;
    const list = samples.get(kind) ?? [];
    list.push(Number(process.hrtime.bigint() - started) / 1_000);
    samples.set(kind, list);
    return answer;
  };
  return {
    open: (request, signal) => {
      const kind = opened.has(request.callId ?? '') ? 'open (same call id)' : 'open (new call)';
      opened.add(request.callId ?? '');
      return time(kind, governor.open(request, signal));
    },
    get: (id, signal) => time('get', governor.get(id, signal)),
    wait: (id, options) => time('wait', governor.wait(id, options)),
    complete: (id, report, signal) => time('complete', governor.complete(id, report, signal)),
    cancel: (id, reason, signal) => time('cancel', governor.cancel(id, reason, signal)),
  };
}

/** `CALLS` rounds of each, interleaved (unwrapped, wrapped, unwrapped, ...), after untimed warm-up ones. */
async function measure(label: string, governor: ToolGovernor): Promise<Measured> {
  const samples = new Map<string, number[]>();
  const governed = governTools(plain, { governor: timed(governor, samples), server: 'app' });
  const unwrapped: number[] = [];
  const wrapped: number[] = [];
  for (let index = -WARMUP; index < CALLS; index++) {
    if (index === 0) samples.clear();
    const plainUs = await oneRound(plain, `plain-${label}-${index}`);
    const governedUs = await oneRound(governed, `${label}-${index}`);
    if (index < 0) continue;
    unwrapped.push(plainUs);
    wrapped.push(governedUs);
  }
  return {
    unwrapped: summarise(unwrapped),
    wrapped: summarise(wrapped),
    wrappedLastTenth: summarise(wrapped.slice(-Math.ceil(CALLS / 10))),
    requests: new Map([...samples].map(([kind, list]) => [kind, summarise(list)])),
  };
}

function row(path: string, summary: Summary, baseline?: Summary): string {
  const ms = (us: number) => format(us / 1_000, 3);
  const overhead = baseline ? `${ms(summary.medianUs - baseline.medianUs)}` : '-';
  return `| ${path} | ${summary.samples} | ${ms(summary.medianUs)} | ${ms(summary.p99Us)} | ${overhead} |`;
}

async function main(): Promise<void> {
  const remote = await startRemoteDeployment({ policy: POLICY, agentId: 'bench' });
  let local: Awaited<ReturnType<typeof openInProcessReins>> | undefined;
  try {
    const remoteResult = await measure(
      'remote',
      new RemoteGovernor({ url: remote.url, token: remote.token }),
    );
    await remote.gateway.stop();
    local = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
    const token = remote.token2(`in-process-${Date.now()}`);
    const governor = new LocalGovernor({ harness: local.harness, authenticator: local.authenticator, token });
    const localResult = await measure('local', governor);
    write(`\nreins/ai-sdk: one generateText round with one tool call (mock model), ${CALLS} per path`);
    write(`${machine()}\n`);
    write('| path | calls | median ms | p99 ms | overhead (median) ms |');
    write('| --- | ---: | ---: | ---: | ---: |');
    write(row('unwrapped tool (remote run)', remoteResult.unwrapped));
    write(row('governed, remote (reins gateway, HTTP)', remoteResult.wrapped, remoteResult.unwrapped));
    write(row('  last tenth of the session', remoteResult.wrappedLastTenth, remoteResult.unwrapped));
    write(row('unwrapped tool (in-process run)', localResult.unwrapped));
    write(row('governed, in process (LocalGovernor)', localResult.wrapped, localResult.unwrapped));
    write(row('  last tenth of the session', localResult.wrappedLastTenth, localResult.unwrapped));
    write('\nper governor request, as the adapter makes them for one allowed call:\n');
    write('| mode | request | median ms | p99 ms |');
    write('| --- | --- | ---: | ---: |');
    for (const [mode, result] of [
      ['remote', remoteResult],
      ['in process', localResult],
    ] as const)
      for (const [kind, summary] of result.requests)
        write(
          `| ${mode} | ${kind} | ${format(summary.medianUs / 1_000, 3)} | ${format(summary.p99Us / 1_000, 3)} |`,
        );
  } finally {
    await local?.close();
    await remote.close();
  }
}

await main();
