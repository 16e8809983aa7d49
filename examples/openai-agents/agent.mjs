// A mail assistant built with the OpenAI Agents SDK whose tools are governed by Reins over the remote
// protocol (README.md here). Usage, from the repository root, after `npm run build`:
//   node examples/openai-agents/agent.mjs start  <credential file>   runs until Reins holds a call
//   node examples/openai-agents/agent.mjs resume <credential file>   another process: resumes the run
//                                                                    once a human decided in Reins
// With OPENAI_API_KEY set, a real model (OPENAI_MODEL, default the SDK's) drives the tools; without
// one, a scripted model (the SDK's own `Model` interface) makes the calls a careless assistant would.
// GATEWAY_URL and SAVED_RUN override the gateway's address (from reins.yaml) and where the run is saved.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Agent, Runner, RunState, Usage } from '@openai/agents';
import { applyReinsDecisions, reinsTool } from 'reins/openai-agents';
import { RemoteGovernor } from 'reins/remote';
import { parse } from 'yaml';
import { z } from 'zod';

const HERE = import.meta.dirname;
const SAVED_RUN = process.env.SAVED_RUN ?? join(HERE, '../../.reins/openai-agents/run.json');
// An example key from the AWS documentation, as a CRM might hold it.
const CUSTOMER_KEY = 'AKIAIOSFODNN7EXAMPLE';
const TASK =
  'Look up the customers acme, globex and initech, delete the account of acme, ' +
  'then email acme (billing@acme.example) a one-line summary.';

function gatewayUrl() {
  if (process.env.GATEWAY_URL) return process.env.GATEWAY_URL;
  const config = parse(readFileSync(join(HERE, 'reins.yaml'), 'utf8'));
  const { host = '127.0.0.1', port = 8796 } = config.listen ?? {};
  return `http://${host}:${port}`;
}

/** The three tools, each governed by Reins as `app/<name>`. */
function tools(governor) {
  const reins = { governor, server: 'app' };
  return [
    reinsTool(reins, {
      name: 'lookup_customer',
      description: 'Look a customer up by name: plan, contact, API key',
      parameters: z.object({ customer: z.string() }),
      execute: async ({ customer }) => ({ customer, plan: 'pro', apiKey: CUSTOMER_KEY }),
    }),
    reinsTool(reins, {
      name: 'send_email',
      description: 'Send an email',
      parameters: z.object({ to: z.string(), subject: z.string(), body: z.string() }),
      execute: async ({ to, subject }) => `sent "${subject}" to ${to}`,
    }),
    reinsTool(reins, {
      name: 'delete_account',
      description: 'Delete a customer account',
      parameters: z.object({ customer: z.string() }),
      execute: async ({ customer }) => `deleted ${customer}`,
    }),
  ];
}

/** The scripted model: a function of the conversation, so a resumed run continues where it stopped. */
// One lookup per turn: the Agents SDK runs a turn's tool calls concurrently, and the per-session limit
// must refuse the third lookup, not whichever of three racing lookups reaches Reins last.
const SCRIPT = [
  [['lookup-1', 'lookup_customer', { customer: 'acme' }]],
  [['lookup-2', 'lookup_customer', { customer: 'globex' }]],
  [
    ['lookup-3', 'lookup_customer', { customer: 'initech' }],
    ['delete-1', 'delete_account', { customer: 'acme' }],
  ],
  [['mail-1', 'send_email', { to: 'billing@acme.example', subject: 'Summary', body: 'All good.' }]],
];

const scriptedModel = {
  async getResponse(request) {
    const input = typeof request.input === 'string' ? [] : request.input;
    const done = new Set(
      input.filter((item) => item.type === 'function_call_result').map((item) => item.callId),
    );
    const turn = SCRIPT.find((calls) => !calls.every(([callId]) => done.has(callId)));
    const output = turn
      ? turn.map(([callId, name, args]) => ({
          type: 'function_call',
          callId,
          name,
          arguments: JSON.stringify(args),
          status: 'completed',
        }))
      : [
          {
            type: 'message',
            role: 'assistant',
            status: 'completed',
            content: [
              { type: 'output_text', text: 'Done: the lookups, the deletion and the mail are handled.' },
            ],
          },
        ];
    return { usage: new Usage(), output };
  },
  async *getStreamedResponse() {
    yield* [];
    throw new Error('the scripted model does not stream');
  },
};

function agent(governor) {
  const real = process.env.OPENAI_API_KEY !== undefined && process.env.OPENAI_API_KEY !== '';
  return new Agent({
    name: 'mail-assistant',
    instructions: 'You help with customer mail. Use the tools; if a tool refuses, say so and go on.',
    ...(real
      ? process.env.OPENAI_MODEL
        ? { model: process.env.OPENAI_MODEL }
        : {}
      : { model: scriptedModel }),
    tools: tools(governor),
  });
}

/** Prints what the model was given for each tool call of the run. */
function printToolResults(result) {
  for (const item of result.newItems) {
    if (item.type !== 'tool_call_output_item') continue;
    const output = typeof item.output === 'string' ? item.output : JSON.stringify(item.output);
    console.log(`  ${item.rawItem.name} (${item.rawItem.callId}) -> ${output}`);
  }
}

async function finish(result) {
  printToolResults(result);
  if (result.interruptions.length === 0) {
    console.log(`\nthe model's answer: ${result.finalOutput}`);
    return;
  }
  mkdirSync(dirname(SAVED_RUN), { recursive: true });
  writeFileSync(SAVED_RUN, result.state.toString());
  const applied = await applyReinsDecisions(result.state);
  console.log(
    `\nReins holds ${applied.decisions.length} call(s) for a human; the run is saved in ${SAVED_RUN}`,
  );
  for (const { item, call } of applied.decisions)
    console.log(`  ${item.name} ${item.arguments}: npx reins approvals approve ${call?.id} ...`);
  console.log('then, from any process: node examples/openai-agents/agent.mjs resume <credential file>');
}

async function main([command, credentialFile]) {
  if (!['start', 'resume'].includes(command) || credentialFile === undefined)
    throw new Error('usage: node examples/openai-agents/agent.mjs start|resume <credential file>');
  const token = readFileSync(credentialFile, 'utf8').trim();
  const governor = new RemoteGovernor({ url: gatewayUrl(), token });
  const mailAgent = agent(governor);
  const runner = new Runner({ tracingDisabled: true });
  if (command === 'start') {
    console.log(`task: ${TASK}\n`);
    return finish(await runner.run(mailAgent, TASK));
  }
  const state = await RunState.fromString(mailAgent, readFileSync(SAVED_RUN, 'utf8'));
  console.log('waiting for the humans to decide in Reins...');
  const applied = await applyReinsDecisions(state, { wait: true, timeoutMs: 30 * 60_000 });
  for (const { item, outcome } of applied.decisions) console.log(`  ${item.name}: ${outcome}`);
  if (!applied.ready) return console.log('still held: run this again later');
  return finish(await runner.run(mailAgent, state));
}

await main(process.argv.slice(2));
