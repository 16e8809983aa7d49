// An assistant built with the Vercel AI SDK 6 whose own tools are governed by Reins (`reins/ai-sdk`).
// It makes the calls a careless assistant would and prints what Reins did with each: a read whose
// secret the model never sees, a refused delete, a limit, and a payment held until a human approves it
// in Reins from another terminal. With no OPENAI_API_KEY the SDK's own mock model (`ai/test`) drives the
// tool loop; with one, a real model does (`npm install @ai-sdk/openai@3`; OPENAI_MODEL, default
// gpt-4o-mini). See README.md beside this file.
//
// Usage, from the repository root:
//   node examples/ai-sdk/agent.mjs <credential file>               the remote protocol (a running gateway)
//   node examples/ai-sdk/agent.mjs <credential file> --in-process  Reins inside this process
// The gateway's address comes from reins.yaml beside this file (REINS_URL overrides it).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { governTools } from 'reins/ai-sdk';
import { LocalGovernor, RemoteGovernor } from 'reins/remote';
import { parse } from 'yaml';
import { z } from 'zod';

const CONFIG = join(import.meta.dirname, 'reins.yaml');
// An example key from the AWS documentation, as it might sit in a note.
const NOTES = { deploy: 'Deploy with key AKIAIOSFODNN7EXAMPLE, then tell the team.' };

/** The application's own tools: plain functions, run in this process. */
const appTools = {
  read_note: tool({
    description: 'Read a note by its name',
    inputSchema: z.object({ name: z.string() }),
    execute: async ({ name }) => ({ name, text: NOTES[name] ?? '(no such note)' }),
  }),
  search_notes: tool({
    description: 'Search the notes',
    inputSchema: z.object({ query: z.string() }),
    execute: async ({ query }) => Object.keys(NOTES).filter((name) => name.includes(query)),
  }),
  delete_note: tool({
    description: 'Delete a note',
    inputSchema: z.object({ name: z.string() }),
    execute: async ({ name }) => `deleted ${name}`,
  }),
  send_payment: tool({
    description: 'Send a payment',
    inputSchema: z.object({ to: z.string(), amount: z.number() }),
    execute: async ({ to, amount }) => `paid ${amount} EUR to ${to}`,
  }),
};

/** What the user asks, and the calls the mock model makes for it (a real model decides for itself). */
const STEPS = [
  { ask: 'What does the deploy note say?', calls: [['read_note', { name: 'deploy' }]] },
  { ask: 'Delete the deploy note.', calls: [['delete_note', { name: 'deploy' }]] },
  {
    ask: 'Search the notes for "deploy", "release" and "team", one search each.',
    calls: [
      ['search_notes', { query: 'deploy' }],
      ['search_notes', { query: 'release' }],
      ['search_notes', { query: 'team' }],
    ],
  },
  { ask: 'Pay 120 EUR to ACME for the deploy.', calls: [['send_payment', { to: 'ACME', amount: 120 }]] },
];

const USAGE = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** The SDK's mock model: calls the step's tools for a user message, then sums up the tool results. */
function mockModel() {
  const run = randomUUID().slice(0, 8);
  let calls = 0;
  return new MockLanguageModelV3({
    doGenerate: async ({ prompt }) => {
      const last = prompt.at(-1);
      if (last.role === 'tool') {
        const seen = last.content.filter((part) => part.type === 'tool-result').map((part) => part.output);
        return answer([{ type: 'text', text: `I got: ${JSON.stringify(seen)}` }], 'stop');
      }
      const asked = last.content.map((part) => part.text ?? '').join('');
      const step = STEPS.find((each) => each.ask === asked);
      const content = (step?.calls ?? []).map(([toolName, input]) => ({
        type: 'tool-call',
        toolCallId: `call-${run}-${++calls}`,
        toolName,
        input: JSON.stringify(input),
      }));
      return content.length > 0
        ? answer(content, 'tool-calls')
        : answer([{ type: 'text', text: 'ok' }], 'stop');
    },
  });
}

function answer(content, unified) {
  return { content, finishReason: { unified, raw: unified }, usage: USAGE, warnings: [] };
}

async function chooseModel() {
  if (!process.env.OPENAI_API_KEY) return { model: mockModel(), name: 'the AI SDK mock model' };
  const { openai } = await import('@ai-sdk/openai').catch(() => {
    throw new Error('OPENAI_API_KEY is set: install the provider first, `npm install @ai-sdk/openai@3`');
  });
  const name = process.env.OPENAI_MODEL ?? 'gpt-4o-mini';
  return { model: openai(name), name };
}

async function chooseGovernor(token, inProcess) {
  if (inProcess) {
    const { openInProcessReins } = await import('reins/in-process');
    const reins = await openInProcessReins({ config: CONFIG });
    const governor = new LocalGovernor({ harness: reins.harness, authenticator: reins.authenticator, token });
    return { governor, close: () => reins.close(), where: `in process (${CONFIG})` };
  }
  const listen = parse(readFileSync(CONFIG, 'utf8')).listen ?? {};
  const url = process.env.REINS_URL ?? `http://${listen.host ?? '127.0.0.1'}:${listen.port ?? 8790}`;
  return { governor: new RemoteGovernor({ url, token }), close: async () => {}, where: url };
}

/** One request of the user: the tool loop, then, for held calls, the SDK's approval round. */
async function step(index, ask, model, tools) {
  console.log(`\n${index}. user: ${ask}`);
  const messages = [{ role: 'user', content: ask }];
  let result = await generateText({ model, tools, messages, stopWhen: stepCountIs(5) });
  const requests = result.content.filter((part) => part.type === 'tool-approval-request');
  if (requests.length > 0) {
    // This application's UI approves at once: that is the client's approval, not Reins'. The tool runs
    // only once a human approved the call in Reins; until then the execution waits.
    console.log('   the client approves; the call now waits for Reins');
    messages.push(...result.response.messages, {
      role: 'tool',
      content: requests.map((part) => ({
        type: 'tool-approval-response',
        approvalId: part.approvalId,
        approved: true,
      })),
    });
    result = await generateText({ model, tools, messages, stopWhen: stepCountIs(5) });
  }
  printToolResults([...messages, ...result.response.messages]);
  console.log(`   model: ${result.text}`);
}

/** Each tool call of the conversation and what the model was given for it. */
function printToolResults(messages) {
  const inputs = new Map();
  for (const message of messages)
    if (message.role === 'assistant' && Array.isArray(message.content))
      for (const part of message.content)
        if (part.type === 'tool-call') inputs.set(part.toolCallId, part.input);
  for (const message of messages)
    if (message.role === 'tool')
      for (const part of message.content)
        if (part.type === 'tool-result')
          console.log(
            `   ${part.toolName} ${JSON.stringify(inputs.get(part.toolCallId))} -> ${JSON.stringify(part.output.value)}`,
          );
}

function onHeld({ toolName, call }) {
  console.log(`   ${toolName} is held for a human in Reins as call ${call.id} (${call.reason ?? ''})`);
  console.log(`   approve it from another terminal:`);
  console.log(
    `     npx reins approvals approve ${call.id} --reason "ok" --token-file .reins/ai-sdk/you.token --config examples/ai-sdk/reins.yaml`,
  );
}

async function main(credentialFile, flag) {
  if (credentialFile === undefined)
    throw new Error('usage: node examples/ai-sdk/agent.mjs <credential file> [--in-process]');
  const token = readFileSync(credentialFile, 'utf8').trim();
  const { model, name } = await chooseModel();
  const { governor, close, where } = await chooseGovernor(token, flag === '--in-process');
  console.log(`model: ${name}; Reins: ${where}`);
  const tools = governTools(appTools, { governor, server: 'app', onHeld });
  try {
    for (const [index, { ask }] of STEPS.entries()) await step(index + 1, ask, model, tools);
  } finally {
    await close();
  }
}

await main(process.argv[2], process.argv[3]);
