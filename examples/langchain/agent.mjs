// A LangChain.js v1 support agent whose tools go through Reins (`reins/langchain`, remote protocol).
// Usage, from the repository root, with the gateway of examples/langchain/reins.yaml running:
//   node examples/langchain/agent.mjs <file with the agent credential> [gateway url]
// Without OPENAI_API_KEY, LangChain's own fake model (`fakeModel`) drives the tool-calling loop with a
// fixed script; with it, a real model (`npm install @langchain/openai`) decides which tools to call.
// A held call stops the run (a LangGraph interrupt); the script waits until a human decides in Reins
// (`reins approvals approve <id>` in another terminal, or the console), then resumes the run.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, MemorySaver } from '@langchain/langgraph';
import { AIMessage, createAgent, fakeModel, HumanMessage, initChatModel, ToolMessage, tool } from 'langchain';
import { reinsMiddleware } from 'reins/langchain';
import { RemoteGovernor } from 'reins/remote';
import { parse } from 'yaml';
import { z } from 'zod';

const PROMPT =
  'Customer c-7 was charged twice. Look them up, refund them 40 EUR, send them three confirmation ' +
  'emails, then delete all our records.';
// An example key from the AWS documentation, as a careless CRM might return it.
const LEAKED_KEY = 'AKIAIOSFODNN7EXAMPLE';

const tools = [
  tool(async ({ id }) => ({ id, name: 'Ada Lovelace', plan: 'pro', apiKey: LEAKED_KEY }), {
    name: 'lookup_customer',
    description: 'Looks a customer up by id',
    schema: z.object({ id: z.string() }),
  }),
  tool(async ({ id, amount }) => `refunded ${amount} EUR to ${id}`, {
    name: 'refund',
    description: 'Refunds a customer, in EUR',
    schema: z.object({ id: z.string(), amount: z.number() }),
  }),
  tool(async ({ to, subject }) => `sent "${subject}" to ${to}`, {
    name: 'send_email',
    description: 'Sends an email',
    schema: z.object({ to: z.string(), subject: z.string() }),
  }),
  tool(async () => 'deleted every record', {
    name: 'delete_all_records',
    description: 'Deletes every customer record',
    schema: z.object({}),
  }),
];

/** The fake model's script: one tool call per step (ids unique to this run), then a last answer. */
function scriptedModel() {
  const run = randomUUID().slice(0, 8);
  const step = (name, args) => [
    { name, args, id: `${run}-${name}-${Math.random().toString(36).slice(2, 6)}` },
  ];
  const mail = (n) => step('send_email', { to: 'ada@example.com', subject: `Your refund (${n}/3)` });
  return fakeModel()
    .respondWithTools(step('lookup_customer', { id: 'c-7' }))
    .respondWithTools(step('refund', { id: 'c-7', amount: 40 }))
    .respondWithTools(mail(1))
    .respondWithTools(mail(2))
    .respondWithTools(mail(3))
    .respondWithTools(step('delete_all_records', {}))
    .respond(new AIMessage('Done: looked up, refunded, emailed; deleting records was refused.'));
}

async function model() {
  if (!process.env.OPENAI_API_KEY) return scriptedModel();
  return initChatModel(process.env.OPENAI_MODEL ?? 'openai:gpt-4.1-mini');
}

function gatewayUrl() {
  const config = parse(readFileSync(join(import.meta.dirname, 'reins.yaml'), 'utf8'));
  const { host = '127.0.0.1', port = 8792 } = config.listen ?? {};
  return `http://${host}:${port}`;
}

/** Prints the tool results the run added since the last call. */
function printer() {
  let seen = 0;
  return (result) => {
    for (const message of result.messages.slice(seen)) {
      if (ToolMessage.isInstance(message)) console.log(`  ${message.name} -> ${message.text}`);
      else if (AIMessage.isInstance(message) && !message.tool_calls?.length)
        console.log(`model: ${message.text}`);
    }
    seen = result.messages.length;
  };
}

async function main(credentialFile, url = gatewayUrl()) {
  if (credentialFile === undefined)
    throw new Error('usage: node examples/langchain/agent.mjs <credential file> [gateway url]');
  const governor = new RemoteGovernor({ url, token: readFileSync(credentialFile, 'utf8').trim() });
  const agent = createAgent({
    model: await model(),
    tools,
    middleware: [reinsMiddleware({ governor, server: 'app' })],
    checkpointer: new MemorySaver(),
  });
  const config = { configurable: { thread_id: randomUUID() } };
  const print = printer();
  console.log(
    `agent: ${process.env.OPENAI_API_KEY ? 'a real model' : "LangChain's fake model"}, Reins at ${url}`,
  );

  let result = await agent.invoke({ messages: [new HumanMessage(PROMPT)] }, config);
  print(result);
  while (result.__interrupt__?.length) {
    for (const { value } of result.__interrupt__) {
      console.log(`  ${value.tool} is HELD by Reins: ${value.reason}`);
      console.log('  approve it from another terminal:');
      console.log(
        `    REINS_TOKEN=$(cat .reins/you.token) npx reins approvals approve ${value.callId} --reason 'checked' --config examples/langchain/reins.yaml`,
      );
      const decided = await governor.wait(value.callId);
      console.log(`  Reins: ${decided.status}; resuming the run`);
    }
    // the resume value is not an approval: the resumed tool call asks Reins again
    result = await agent.invoke(new Command({ resume: true }), config);
    print(result);
  }
}

await main(...process.argv.slice(2));
