/**
 * @module bench/adapter-langchain
 * What `reins/langchain` adds to each tool call of a LangChain.js agent: the same agent (`createAgent`,
 * LangChain's `fakeModel`, one tool call per run) with its tool unwrapped, then governed through a real
 * `reins gateway` on 127.0.0.1 (remote protocol: open and outcome, two HTTP round trips, the intent and
 * outcome made durable in SQLite, output redaction) and in-process (LocalGovernor, the same pipeline in
 * this process). Each sample is the tool call as the agent's tool node runs it (an outer timing
 * middleware around the Reins middleware and the tool), so the model step is not counted. By default
 * the adapter declares the latest human message as the user's input with each call; the rows
 * `userInput: false` show what that declaration costs.
 *   npm run build && npx tsx bench/adapter-langchain.ts   (the gateway is the built CLI; REINS_BENCH_CALLS)
 */
import { AIMessage, createAgent, createMiddleware, fakeModel, HumanMessage, tool } from 'langchain';
import { z } from 'zod';
import type { ToolGovernor } from '../src/adapters/governor.js';
import { reinsMiddleware } from '../src/adapters/langchain.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { startRemoteDeployment } from '../test/support/remote-deployment.js';
import { format, machine, type Summary, summarise } from './measure.js';

const CALLS = Number(process.env.REINS_BENCH_CALLS ?? 300);
const WARMUP = 40;
const write = (line: string) => process.stdout.write(`${line}\n`);

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: bench-langchain }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
rules:
  - { id: lookups, effect: allow, tool: { server: app, name: lookup }, reason: lookups are harmless }
redaction:
  outputs: { secret: redact }
`;

const lookup = tool(async ({ id }) => ({ id, plan: 'pro', note: 'a short record' }), {
  name: 'lookup',
  description: 'Looks a customer up',
  schema: z.object({ id: z.string() }),
});

/** Runs `calls` one-tool-call agent runs; resolves with the time of each tool call, in µs. */
async function measure(
  governor: ToolGovernor | undefined,
  calls: number,
  declare: boolean,
): Promise<number[]> {
  const samples: number[] = [];
  const timing = createMiddleware({
    name: 'Timing',
    wrapToolCall: async (request, handler) => {
      const started = process.hrtime.bigint();
      const result = await handler(request);
      samples.push(Number(process.hrtime.bigint() - started) / 1_000);
      return result;
    },
  });
  const model = fakeModel();
  for (let index = 0; index < calls; index++)
    model
      .respondWithTools([{ name: 'lookup', args: { id: `c-${index}` }, id: `tc-${Math.random()}` }])
      .respond(new AIMessage('done'));
  const reins =
    governor && reinsMiddleware({ governor, server: 'app', ...(declare ? {} : { userInput: false }) });
  const middleware = reins ? [timing, reins] : [timing];
  const agent = createAgent({ model, tools: [lookup], middleware });
  for (let index = 0; index < calls; index++)
    await agent.invoke({ messages: [new HumanMessage(`look up c-${index}`)] });
  return samples;
}

async function run(governor: ToolGovernor | undefined, declare = true): Promise<Summary> {
  await measure(governor, WARMUP, declare);
  return summarise(await measure(governor, CALLS, declare));
}

const remote = await startRemoteDeployment({ policy: POLICY, agentId: 'bench' });
const results: [string, Summary][] = [];
try {
  results.push(['unwrapped tool', await run(undefined)]);
  const governor = new RemoteGovernor({ url: remote.url, token: remote.token });
  results.push(['reins/langchain, remote (gateway on 127.0.0.1)', await run(governor)]);
  results.push(['  same, userInput: false', await run(governor, false)]);
  results.push(['unwrapped tool (again)', await run(undefined)]);
  await remote.gateway.stop();
  const reins = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
  try {
    const local = new LocalGovernor({
      harness: reins.harness,
      authenticator: reins.authenticator,
      token: remote.token,
    });
    results.push(['reins/langchain, in-process (LocalGovernor)', await run(local)]);
    results.push(['  same, userInput: false', await run(local, false)]);
  } finally {
    await reins.close();
  }
} finally {
  await remote.close();
}

const baseline = Math.min(
  ...results.filter(([name]) => name.startsWith('unwrapped')).map(([, s]) => s.medianUs),
);
write(`reins/langchain: one tool call per agent run, ${CALLS} calls each (after ${WARMUP} warm-up)`);
write(machine());
write('');
write('| tool call                                       | median (µs) | p99 (µs) | added, median (µs) |');
write('| ----------------------------------------------- | ----------: | -------: | -----------------: |');
for (const [name, summary] of results) {
  const added = name.startsWith('unwrapped') ? '-' : format(summary.medianUs - baseline, 0);
  write(
    `| ${name.padEnd(47)} | ${format(summary.medianUs, 0).padStart(11)} | ${format(summary.p99Us, 0).padStart(8)} | ${added.padStart(18)} |`,
  );
}
