/**
 * @module test/security/adapter-duplicates.test
 * Attack (issue 15, second outside review): one tool-call id twice in a step ran the tool twice with the
 * OpenAI Agents and LangChain adapters too, and the LangChain adapter let Reins' 409 refusals (a call id
 * reused for other arguments) end the whole agent run. Fixed: one id runs once per process; LangChain
 * tells the model the call was refused and the run goes on. Held: resuming while an allowed call of the
 * interrupted step still ran did not run it twice.
 */
import { Command, MemorySaver } from '@langchain/langgraph';
import { Agent, Runner } from '@openai/agents';
import { AIMessage, createAgent, fakeModel, HumanMessage, tool } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { reinsMiddleware } from '../../src/adapters/langchain.js';
import { reinsTool } from '../../src/adapters/openai-agents.js';
import { RemoteGovernor } from '../../src/adapters/remote-governor.js';
import { type RemoteDeployment, startRemoteDeployment } from '../support/remote-deployment.js';
import { ScriptedModel } from '../support/scripted-agents-model.js';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: attack }
tools:
  - { server: app, name: send, risk: low, effects: [write] }
  - { server: app, name: refund, risk: high, effects: [write] }
rules:
  - { id: ok, effect: allow, tool: { server: app, name: send }, reason: fine }
  - { id: human, effect: approve, tool: { server: app, name: refund }, reason: refunds need a human }
`;

let remote: RemoteDeployment;
let governor: RemoteGovernor;
beforeAll(async () => {
  remote = await startRemoteDeployment({ policy: POLICY });
  governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
}, 60_000);
afterAll(async () => {
  await remote?.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('attack: one tool call id, two executions', () => {
  it('openai-agents: two calls with one callId in one turn run the tool once', async () => {
    let sent = 0;
    const send = reinsTool(
      { governor, server: 'app' },
      {
        name: 'send',
        description: 'send',
        parameters: z.object({ to: z.string() }),
        execute: async ({ to }) => {
          sent++;
          await sleep(50);
          return `sent to ${to}`;
        },
      },
    );
    const model = new ScriptedModel([
      { name: 'send', args: { to: 'bob' }, callId: 'oa-dup' },
      { name: 'send', args: { to: 'bob' }, callId: 'oa-dup' },
    ]);
    const agent = new Agent({ name: 'a', instructions: 'x', model, tools: [send] });
    await new Runner({ tracingDisabled: true }).run(agent, 'go');
    expect(sent).toBe(1);
  });

  it('langchain: two calls with one id in one AI message run the tool once', async () => {
    let sent = 0;
    const send = tool(
      async ({ to }) => {
        sent++;
        await sleep(50);
        return `sent to ${to}`;
      },
      { name: 'send', description: 'send', schema: z.object({ to: z.string() }) },
    );
    const model = fakeModel()
      .respondWithTools([
        { name: 'send', args: { to: 'bob' }, id: 'lc-dup' },
        { name: 'send', args: { to: 'bob' }, id: 'lc-dup' },
      ])
      .respond(new AIMessage('done'));
    const agent = createAgent({
      model,
      tools: [send],
      middleware: [reinsMiddleware({ governor, server: 'app' })],
    });
    const error = await agent.invoke({ messages: [new HumanMessage('go')] }).then(
      () => undefined,
      (e) => e,
    );
    console.log('langchain dup: sent', sent, 'run error', String(error));
    expect(sent).toBe(1);
    // and the agent run survives: the refusal goes to the model, as in the other adapters
    expect(error).toBeUndefined();
  });

  it('langchain: resuming a run while an allowed call of the interrupted step still runs does not run it again', async () => {
    let sent = 0;
    const send = tool(
      async ({ to }) => {
        sent++;
        await sleep(1_500);
        return `sent to ${to}`;
      },
      { name: 'send', description: 'send', schema: z.object({ to: z.string() }) },
    );
    const refund = tool(async () => 'refunded', {
      name: 'refund',
      description: 'refund',
      schema: z.object({ id: z.string() }),
    });
    const model = fakeModel()
      .respondWithTools([
        { name: 'send', args: { to: 'bob' }, id: 'lc-slow' },
        { name: 'refund', args: { id: 'c-1' }, id: 'lc-held' },
      ])
      .respond(new AIMessage('done'));
    const agent = createAgent({
      model,
      tools: [send, refund],
      middleware: [reinsMiddleware({ governor, server: 'app' })],
      checkpointer: new MemorySaver(),
    });
    const config = { configurable: { thread_id: `t-${Math.random()}` } };
    const first = (await agent.invoke({ messages: [new HumanMessage('go')] }, config)) as {
      __interrupt__?: unknown[];
    };
    console.log('interrupts', first.__interrupt__?.length, 'sent so far', sent);
    // the app resumes (its user clicked "continue"; Reins still holds the refund, so it interrupts again)
    await agent.invoke(new Command({ resume: true }), config).catch((e) => console.log('resume threw', e));
    await sleep(2_000);
    console.log('sent', sent);
    expect(sent).toBe(1);
  }, 20_000);
});

describe('attack: a model reusing a tool call id with other arguments', () => {
  it('langchain: the run goes on and the model is told the call was refused (as in the other adapters)', async () => {
    let sent = 0;
    const send = tool(
      async ({ to }) => {
        sent++;
        return `sent to ${to}`;
      },
      { name: 'send', description: 'send', schema: z.object({ to: z.string() }) },
    );
    const model = fakeModel()
      .respondWithTools([{ name: 'send', args: { to: 'bob' }, id: 'lc-reuse' }])
      .respondWithTools([{ name: 'send', args: { to: 'eve' }, id: 'lc-reuse' }])
      .respond(new AIMessage('done'));
    const agent = createAgent({
      model,
      tools: [send],
      middleware: [reinsMiddleware({ governor, server: 'app' })],
    });
    const error = await agent.invoke({ messages: [new HumanMessage('go')] }).then(
      () => undefined,
      (e) => e,
    );
    console.log('reuse: sent', sent, String(error));
    expect(sent).toBe(1);
    expect(error).toBeUndefined();
  });
});
