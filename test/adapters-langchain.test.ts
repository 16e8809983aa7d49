/**
 * @module test/adapters-langchain.test
 * `reins/langchain` end to end (issue 15): a LangChain.js v1 agent (`createAgent`, LangChain's own
 * `fakeModel` driving the tool-calling loop, LangGraph's `MemorySaver`) whose tool calls go through the
 * Reins middleware to a real `reins gateway` process (remote protocol), humans acting through separate
 * `reins approvals` processes. An allowed call runs and its output is redacted; a denied call does not
 * run and the model is given the reason; a held call interrupts the run, and after a human approved in
 * Reins the resumed run executes exactly the held arguments, once; a resumption under the same tool
 * call id with altered arguments is refused, a replayed one does not run again; every call has its
 * intent and outcome, and `reins audit verify` passes. Then the same agent in-process (LocalGovernor).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, MemorySaver } from '@langchain/langgraph';
import {
  AIMessage,
  type BaseMessage,
  createAgent,
  fakeModel,
  HumanMessage,
  ToolMessage,
  tool,
} from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ToolGovernor } from '../src/adapters/governor.js';
import { type ReinsHeldInterrupt, reinsMiddleware } from '../src/adapters/langchain.js';
import { LocalGovernor } from '../src/adapters/local-governor.js';
import { RemoteGovernor } from '../src/adapters/remote-governor.js';
import { openInProcessReins } from '../src/cli/in-process.js';
import { eventually } from './support/eventually.js';
import { type RemoteDeployment, startRemoteDeployment } from './support/remote-deployment.js';

const SECRET = 'AKIAIOSFODNN7EXAMPLE';

const POLICY = `apiVersion: reins.dev/v1
kind: Policy
metadata: { name: langchain-tools }
tools:
  - { server: app, name: lookup, risk: low, effects: [read] }
  - { server: app, name: refund, risk: high, effects: [write, external] }
  - { server: app, name: delete_all, risk: high, effects: [write] }
rules:
  - { id: lookups, effect: allow, tool: { server: app, name: lookup }, reason: lookups are harmless }
  - { id: refunds-need-a-human, effect: approve, tool: { server: app, name: refund }, reason: refunds need a human }
  - { id: no-delete-all, effect: deny, tool: { server: app, name: delete_all }, reason: never delete everything }
redaction:
  outputs: { secret: redact }
`;

interface ToolCallSpec {
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly id: string;
}

/** What the tools were really called with, in order. */
const runs: { tool: string; args: Record<string, unknown> }[] = [];

const TOOLS = [
  tool(
    async (args) => {
      runs.push({ tool: 'lookup', args });
      return { customer: args.id, plan: 'pro', deployKey: SECRET };
    },
    { name: 'lookup', description: 'Looks a customer up', schema: z.object({ id: z.string() }) },
  ),
  tool(
    async (args) => {
      runs.push({ tool: 'refund', args });
      return `refunded ${args.amount} EUR to ${args.id}`;
    },
    { name: 'refund', description: 'Refunds', schema: z.object({ id: z.string(), amount: z.number() }) },
  ),
  tool(
    async (args) => {
      runs.push({ tool: 'delete_all', args });
      return 'deleted everything';
    },
    { name: 'delete_all', description: 'Deletes everything', schema: z.object({}) },
  ),
];

type RunResult = { messages: BaseMessage[]; __interrupt__?: { value: unknown }[] };

/** An agent on a thread of its own whose model asks for `calls`, then answers `done`. */
function agentFor(governor: ToolGovernor, calls: ToolCallSpec[], onHeld: 'interrupt' | 'wait' = 'interrupt') {
  const model = fakeModel().respondWithTools(calls).respond(new AIMessage('done'));
  const agent = createAgent({
    model,
    tools: TOOLS,
    middleware: [reinsMiddleware({ governor, server: 'app', onHeld })],
    checkpointer: new MemorySaver(),
  });
  const config = { configurable: { thread_id: `thread-${calls[0]?.id}-${Math.random()}` } };
  return {
    model,
    start: () =>
      agent.invoke({ messages: [new HumanMessage('help customer c-7')] }, config) as Promise<RunResult>,
    resume: () => agent.invoke(new Command({ resume: true }), config) as Promise<RunResult>,
  };
}

/** The contents of the ToolMessages the model was given on its last call. */
function seenByModel(model: ReturnType<typeof fakeModel>): string[] {
  const messages = model.calls.at(-1)?.messages ?? [];
  return messages.filter((message) => ToolMessage.isInstance(message)).map((message) => message.text);
}

function held(result: RunResult): ReinsHeldInterrupt[] {
  return (result.__interrupt__ ?? []).map((entry) => entry.value as ReinsHeldInterrupt);
}

function runsOf(name: string) {
  return runs.filter((run) => run.tool === name);
}

/** Every call has its intent and outcome, once; the log verifies. */
function expectCompleteRecord(remote: RemoteDeployment, atLeast: number): void {
  const records = remote.records();
  const ids = (kind: string) => records.filter((record) => record.kind === kind).map((r) => r.decisionId);
  const intents = ids('call-intent');
  const outcomes = ids('call-outcome');
  expect(intents.length).toBeGreaterThanOrEqual(atLeast);
  expect(new Set(outcomes)).toEqual(new Set(intents));
  expect(outcomes).toHaveLength(intents.length);
  const verified = remote.verify();
  expect(verified.code, verified.out).toBe(0);
}

async function approvalOf(remote: RemoteDeployment, callId: string) {
  return eventually(
    async () => {
      const [request] = remote.pending().filter((each) => each.id === callId);
      expect(request).toBeDefined();
      return request as NonNullable<typeof request>;
    },
    { timeoutMs: 20_000, intervalMs: 200, what: `the approval request of ${callId}` },
  );
}

describe('reins/langchain against a real gateway (remote protocol)', () => {
  let remote: RemoteDeployment;
  let governor: RemoteGovernor;

  beforeAll(async () => {
    remote = await startRemoteDeployment({ policy: POLICY });
    governor = new RemoteGovernor({ url: remote.url, token: remote.token, pollSeconds: 2 });
  }, 60_000);

  afterAll(async () => {
    await remote?.close();
  });

  it('runs an allowed call, and the model gets its output redacted', async () => {
    const run = agentFor(governor, [{ name: 'lookup', args: { id: 'c-7' }, id: 'lc-lookup-1' }]);

    const result = await run.start();

    expect(result.__interrupt__).toBeUndefined();
    expect(runsOf('lookup')).toEqual([{ tool: 'lookup', args: { id: 'c-7' } }]);
    const [seen] = seenByModel(run.model);
    expect(seen).toContain('"plan":"pro"');
    expect(seen).not.toContain(SECRET);
    expect(seen).toContain('[REDACTED');
  });

  it('does not run a denied call, and the model gets the reason', async () => {
    const run = agentFor(governor, [{ name: 'delete_all', args: {}, id: 'lc-delete-1' }]);

    await run.start();

    expect(runsOf('delete_all')).toEqual([]);
    const [seen] = seenByModel(run.model);
    expect(seen).toMatch(/^Reins refused this call: /);
    expect(seen).toContain('never delete everything');
  });

  it('interrupts on a held call; approved by another process, the resumed run executes the held arguments once', async () => {
    const run = agentFor(governor, [{ name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'lc-refund-1' }]);

    const first = await run.start();
    const [interrupt] = held(first);
    expect(interrupt).toMatchObject({ type: 'reins/held', tool: 'app/refund', toolCallId: 'lc-refund-1' });
    expect(interrupt?.reason).toContain('refunds need a human');
    expect(runsOf('refund')).toEqual([]);
    const callId = interrupt?.callId as string;
    expect((await approvalOf(remote, callId)).args).toEqual({ id: 'c-7', amount: 40 });

    // resuming is no approval: before the human decided, the run stops at the same call again
    const early = await run.resume();
    expect(held(early).map((each) => each.callId)).toEqual([callId]);
    expect(runsOf('refund')).toEqual([]);

    expect(remote.vote(callId, 'approve')).toContain('approved');
    const done = await run.resume();

    expect(done.__interrupt__).toBeUndefined();
    expect(runsOf('refund')).toEqual([{ tool: 'refund', args: { id: 'c-7', amount: 40 } }]);
    expect(seenByModel(run.model)).toEqual(['refunded 40 EUR to c-7']);
  }, 60_000);

  it('refuses the approved call id with altered arguments, and does not run a replayed one again', async () => {
    const before = runsOf('refund').length;

    // another run presents the approved tool call id with another amount: refused, nothing runs, and
    // the model is told (the run goes on)
    const altered = agentFor(governor, [
      { name: 'refund', args: { id: 'c-7', amount: 4000 }, id: 'lc-refund-1' },
    ]);
    await altered.start();
    expect(seenByModel(altered.model)[0]).toMatch(/^Reins refused this call \(call_conflict\): /);

    // the same call replayed: Reins answers with the recorded output, the tool does not run again
    const replayed = agentFor(governor, [
      { name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'lc-refund-1' },
    ]);
    await replayed.start();
    expect(seenByModel(replayed.model)).toEqual(['refunded 40 EUR to c-7']);

    // the same arguments under a new tool call id: a new call, held again (an approval is not reusable)
    const again = agentFor(governor, [
      { name: 'refund', args: { id: 'c-7', amount: 40 }, id: 'lc-refund-2' },
    ]);
    const [interrupt] = held(await again.start());
    expect(interrupt?.toolCallId).toBe('lc-refund-2');
    await approvalOf(remote, interrupt?.callId as string);
    remote.vote(interrupt?.callId as string, 'deny');
    await again.resume();
    expect(seenByModel(again.model)[0]).toMatch(/^Reins refused this call: /);

    expect(runsOf('refund')).toHaveLength(before);
  }, 60_000);

  it('runs an allowed call and a held one of the same step: only the held one waits for the human', async () => {
    const run = agentFor(governor, [
      { name: 'lookup', args: { id: 'c-8' }, id: 'lc-pair-lookup' },
      { name: 'refund', args: { id: 'c-8', amount: 5 }, id: 'lc-pair-refund' },
    ]);

    const [interrupt] = held(await run.start());
    expect(runsOf('lookup').at(-1)?.args).toEqual({ id: 'c-8' });
    await approvalOf(remote, interrupt?.callId as string);
    remote.vote(interrupt?.callId as string, 'approve');
    const lookups = runsOf('lookup').length;
    await run.resume();

    expect(runsOf('lookup')).toHaveLength(lookups);
    expect(runsOf('refund').at(-1)?.args).toEqual({ id: 'c-8', amount: 5 });
    expect(seenByModel(run.model)).toHaveLength(2);
  }, 60_000);

  it('every call has its intent and outcome, and the log verifies', () => {
    expectCompleteRecord(remote, 6);
  });
});

describe('reins/langchain in-process (LocalGovernor)', () => {
  it('redacts, and waits for an approval given by another process', async () => {
    const remote = await startRemoteDeployment({ policy: POLICY, agentId: 'in-process' });
    // the application holds the pipeline itself: the gateway process is not needed
    await remote.gateway.stop();
    const reins = await openInProcessReins({ config: remote.deployment.config, log: () => {} });
    try {
      const governor = new LocalGovernor({
        harness: reins.harness,
        authenticator: reins.authenticator,
        token: remote.token,
      });
      const run = agentFor(
        governor,
        [
          { name: 'lookup', args: { id: 'c-9' }, id: 'ip-lookup-1' },
          { name: 'refund', args: { id: 'c-9', amount: 12 }, id: 'ip-refund-1' },
        ],
        'wait',
      );

      const running = run.start();
      const pending = await eventually(
        async () => {
          const [request] = remote.pending();
          expect(request).toBeDefined();
          return request as NonNullable<typeof request>;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: 'the approval request' },
      );
      expect(pending.args).toEqual({ id: 'c-9', amount: 12 });
      remote.vote(pending.id, 'approve');
      const result = await running;

      expect(result.__interrupt__).toBeUndefined();
      expect(runsOf('refund').at(-1)?.args).toEqual({ id: 'c-9', amount: 12 });
      const seen = seenByModel(run.model);
      expect(seen[0]).not.toContain(SECRET);
      expect(seen[1]).toBe('refunded 12 EUR to c-9');
    } finally {
      await reins.close();
    }
    try {
      expectCompleteRecord(remote, 2);
    } finally {
      await remote.close();
    }
  }, 90_000);
});

describe('examples/langchain', () => {
  it('runs with the fake model: redacted, refused, held and approved from another process, limited', async () => {
    const example = resolve(import.meta.dirname, '../examples/langchain');
    const remote = await startRemoteDeployment({
      policy: readFileSync(join(example, 'policy.yaml'), 'utf8'),
    });
    try {
      const credential = join(remote.deployment.directory, 'agent.credential');
      writeFileSync(credential, remote.token, { mode: 0o600 });
      const env = Object.fromEntries(
        Object.entries(process.env).filter(([name]) => name !== 'OPENAI_API_KEY'),
      );
      const child = spawn(process.execPath, [join(example, 'agent.mjs'), credential, remote.url], { env });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
      });
      const exited = new Promise<number | null>((done) => child.on('exit', done));

      const callId = await eventually(
        async () => {
          const id = /approvals approve (\S+)/.exec(out)?.[1];
          expect(id, out).toBeDefined();
          return id as string;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'the held refund' },
      );
      remote.vote(callId, 'approve');

      expect(await exited, out).toBe(0);
      expect(out).toContain('lookup_customer -> {"id":"c-7"');
      expect(out).not.toContain(SECRET);
      expect(out).toContain('refund is HELD by Reins: a human approves every refund');
      expect(out).toContain('refund -> refunded 40 EUR to c-7');
      expect(out.match(/send_email -> sent/g)).toHaveLength(2);
      expect(out).toMatch(/send_email -> Reins refused this call: .*at most two emails per session/);
      expect(out).toMatch(/delete_all_records -> Reins refused this call: .*never deletes every record/);
      expectCompleteRecord(remote, 6);
    } finally {
      await remote.close();
    }
  }, 90_000);
});
